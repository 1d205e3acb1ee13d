# SPDX-License-Identifier: Apache-2.0
"""Per-class weights from training label counts (longtail/class_weights.hpp)."""
import math

import torch

from . import _C
from . import _checks
from ._convert import as_tensor, back


def label_counts(targets):
    """Positives (> 0.5) per label of a samples x labels tensor / array, as float64."""
    t, numpy = as_tensor("targets", targets)
    return back(_C.label_counts(t), numpy)


def class_weights(counts, n, scheme="pos_neg_ratio", cap=math.inf, *, beta=0.999, normalize_mean=False,
                  zero_count_weight=None, dtype=torch.float32):
    """Weights w_c from n_c = counts[c] positives among n training samples.

    scheme: 'pos_neg_ratio' (N - n_c) / n_c (PyTorch's usual pos_weight), 'inverse_frequency'
    N / (C n_c), 'sqrt_pos_neg_ratio', 'sqrt_inverse_frequency', 'effective_number'
    (1 - beta) / (1 - beta^n_c), 'uniform'; then optionally normalised to mean 1, then capped:
    w_c = min(w_c, cap). A label never seen weighs like one seen once (or zero_count_weight).
    Returns a tensor of `dtype` (NumPy in -> NumPy out)."""
    c, numpy = as_tensor("counts", counts)
    if isinstance(n, bool) or not isinstance(n, int):
        if isinstance(n, torch.Tensor) and n.numel() == 1 and not n.is_floating_point():
            n = int(n.item())
        else:
            raise TypeError(f"longtail: n (the number of training samples) must be an int (got {type(n).__name__})")
    if not isinstance(scheme, str):
        raise TypeError(f"longtail: scheme must be a string (got {type(scheme).__name__})")
    w = _C.class_weights(c, n, scheme, _checks.number("cap", cap), _checks.number("beta", beta), bool(normalize_mean),
                         _checks.number("zero_count_weight", zero_count_weight, optional=True))
    return back(w.to(dtype), numpy)
