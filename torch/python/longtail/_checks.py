# SPDX-License-Identifier: Apache-2.0
"""Argument checks of the Python layer: TypeError / ValueError with longtail's message style."""
import numbers

import torch

_REDUCTIONS = ("none", "mean", "sum")
_GRAD_MODES = ("fused", "recompute")


def tensor(name, value, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"longtail: {name} must be a torch.Tensor (got {type(value).__name__})")
    return value


def number(name, value, optional=False):
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"longtail: {name} must be a real number (got {type(value).__name__})")
    return float(value)


def reduction(value):
    if not isinstance(value, str):
        raise TypeError(f"longtail: reduction must be a string (got {type(value).__name__})")
    if value not in _REDUCTIONS:
        raise ValueError(f"longtail: reduction must be 'none', 'mean' or 'sum' (got '{value}')")
    return value


def grad_mode(value):
    if value not in _GRAD_MODES:
        raise ValueError(f"longtail: grad_mode must be 'fused' or 'recompute' (got {value!r})")
    return value == "recompute"
