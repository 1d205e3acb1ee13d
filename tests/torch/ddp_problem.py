# SPDX-License-Identifier: Apache-2.0
"""The batch and model shared by test_ddp.py and ddp_worker.py (same seed, same numbers everywhere)."""
import torch

GAMMA = 2.0
LR = 0.5


def problem():
    g = torch.Generator().manual_seed(7)
    x = torch.randn(16, 6, generator=g)
    y = (torch.rand(16, 5, generator=g) < torch.tensor([0.6, 0.3, 0.2, 0.1, 0.05])).float()
    # Missing labels, unevenly spread: the first half has many more masked elements than the
    # second, so per-rank valid counts differ and a per-rank mean weighs the ranks wrongly.
    mask = torch.rand(16, 5, generator=g) > torch.cat([torch.full((8, 1), 0.5), torch.full((8, 1), 0.05)])
    return x, y, mask


def make_model():
    torch.manual_seed(11)
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 5))
