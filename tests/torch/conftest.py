# SPDX-License-Identifier: Apache-2.0
# pytest setup for the PyTorch adapter's tests (run by CTest: tests/torch/CMakeLists.txt puts the
# built package on PYTHONPATH). One thread: the tests compare against PyTorch element by element
# and must not compete for the 2 CI cores with the other CTest jobs.
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(1234)
