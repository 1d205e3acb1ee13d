# SPDX-License-Identifier: Apache-2.0
"""The losses written in plain torch ops, for the comparisons (differentiable through autograd;
exact in float64 for moderate logits). Formulas: README.md "Formulas and conventions"."""
import torch
import torch.nn.functional as F


def focal(x, y, gamma_pos=2.0, gamma_neg=2.0, alpha=None, margin=0.0, weight=None, pos_weight=None,
          label_smoothing=0.0, mask=None, sample_weight=None, reduction="mean", mean_divisor=None):
    ys = y * (1 - label_smoothing) + label_smoothing / 2
    q = torch.sigmoid(-x)
    pos = q ** gamma_pos * F.softplus(-x)
    if margin > 0:
        pm = torch.clamp(torch.sigmoid(x) - margin, min=0)
        neg = pm ** gamma_neg * -torch.log1p(-pm)
    else:
        neg = torch.sigmoid(x) ** gamma_neg * F.softplus(x)
    a_pos, a_neg = (alpha, 1 - alpha) if alpha is not None else (1.0, 1.0)
    pw = pos_weight if pos_weight is not None else 1.0
    w = weight if weight is not None else 1.0
    l = w * (a_pos * pw * ys * pos + a_neg * (1 - ys) * neg)
    return _reduce(l, mask, sample_weight, reduction, mean_divisor)


def weighted_bce(x, y, weight=None, pos_weight=None, label_smoothing=0.0, mask=None, sample_weight=None,
                 reduction="mean", mean_divisor=None):
    ys = y * (1 - label_smoothing) + label_smoothing / 2
    pw = pos_weight if pos_weight is not None else 1.0
    w = weight if weight is not None else 1.0
    l = w * (pw * ys * F.softplus(-x) + (1 - ys) * F.softplus(x))
    return _reduce(l, mask, sample_weight, reduction, mean_divisor)


def _reduce(l, mask, sample_weight, reduction, mean_divisor):
    if sample_weight is not None:
        l = l * sample_weight.reshape(-1, 1)
    valid = l.numel()
    if mask is not None:
        l = torch.where(mask != 0, l, torch.zeros_like(l))
        valid = int((mask != 0).sum())
    if reduction == "none":
        return l
    if reduction == "sum":
        return l.sum()
    divisor = mean_divisor if mean_divisor is not None else valid
    return l.sum() / divisor if divisor > 0 else l.sum() * 0
