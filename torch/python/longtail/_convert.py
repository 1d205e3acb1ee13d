# SPDX-License-Identifier: Apache-2.0
"""Tensor / NumPy inputs of the helpers: whatever comes in, the C++ side gets a tensor, and results
go back in the caller's kind (NumPy in -> NumPy out)."""
import numpy as np
import torch


def as_tensor(name, value):
    if isinstance(value, torch.Tensor):
        return value.detach(), False
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError(f"longtail: {name} must be a numeric array (got dtype object)")
        return torch.from_numpy(np.ascontiguousarray(value)), True
    raise TypeError(f"longtail: {name} must be a torch.Tensor or a numpy.ndarray (got {type(value).__name__})")


def back(t, numpy):
    return t.numpy() if numpy else t
