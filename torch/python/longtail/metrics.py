# SPDX-License-Identifier: Apache-2.0
"""Multi-label metrics on tensors or NumPy arrays (longtail/metrics.hpp; scikit-learn's conventions).

A label is predicted when score > threshold (logits with threshold 0 or probabilities with 0.5);
a target is positive when > 0.5; macro averages over all labels; a ratio with denominator 0 is
`zero_division` (default 0)."""
import numbers

import torch

from . import _C
from . import _checks
from ._convert import as_tensor, back


def f1_scores(scores, targets, threshold=0.5, zero_division=0.0):
    """Micro / macro / samples precision, recall and F1 at one threshold or per-label thresholds.

    Returns {'micro': {'precision', 'recall', 'f1'}, 'macro': ..., 'samples': ..., 'label_precision',
    'label_recall', 'label_f1', 'label_support'} (per-label values as tensors, or arrays for NumPy input)."""
    s, numpy = as_tensor("scores", scores)
    y, _ = as_tensor("targets", targets)
    if s.dim() != 2:
        raise ValueError(f"longtail: scores must be 2-D (samples x labels), got shape {tuple(s.shape)}")
    if isinstance(threshold, numbers.Real) and not isinstance(threshold, bool):
        h = torch.full((s.shape[1],), float(threshold), dtype=torch.float64)
    else:
        h, _ = as_tensor("threshold", threshold)
    r = _C.f1_scores(s, y, h, _checks.number("zero_division", zero_division))
    for k in ("label_precision", "label_recall", "label_f1", "label_support"):
        r[k] = back(r[k], numpy)
    return r


def tune_thresholds(scores, targets, fallback=0.5, min_positives=1):
    """Per-label thresholds maximising each label's F1 on validation scores (`fallback` for labels with
    fewer than `min_positives` positives)."""
    s, numpy = as_tensor("scores", scores)
    y, _ = as_tensor("targets", targets)
    if isinstance(min_positives, bool) or not isinstance(min_positives, int):
        raise TypeError(f"longtail: min_positives must be an int (got {type(min_positives).__name__})")
    return back(_C.tune_thresholds(s, y, _checks.number("fallback", fallback), min_positives), numpy)


def frequency_bucket_f1(label_f1, train_counts, medium_from=20, head_from=100):
    """Macro-F1 over labels grouped by training frequency: [{'name': 'head' | 'medium' | 'tail',
    'min_count', 'max_count', 'labels', 'macro_f1'}] (head n >= 100, medium 20 <= n < 100, tail n < 20)."""
    f, _ = as_tensor("label_f1", label_f1)
    c, _ = as_tensor("train_counts", train_counts)
    return _C.frequency_bucket_f1(f, c, _checks.number("medium_from", medium_from),
                                  _checks.number("head_from", head_from))
