# SPDX-License-Identifier: Apache-2.0
"""The losses as torch.nn.Modules, with PyTorch's argument names (weight, pos_weight, reduction).

`weight` and `pos_weight` are registered as buffers (they follow .to(device) / .cuda() and are
saved in state_dict, as in BCEWithLogitsLoss). forward(input, target, *, mask=None,
sample_weight=None, mean_divisor=None): see longtail.functional for the conventions.
"""
import torch

from . import _checks
from . import functional as F


class _LongtailLoss(torch.nn.Module):
    def __init__(self, weight, pos_weight, reduction, label_smoothing, grad_mode):
        super().__init__()
        _checks.tensor("weight", weight, optional=True)
        _checks.tensor("pos_weight", pos_weight, optional=True)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)
        self.reduction = _checks.reduction(reduction)
        self.label_smoothing = _checks.number("label_smoothing", label_smoothing)
        _checks.grad_mode(grad_mode)
        self.grad_mode = grad_mode
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"longtail: label_smoothing must be in [0, 1) (got {self.label_smoothing})")

    def extra_repr(self):
        return f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing}, grad_mode={self.grad_mode!r}"


class WeightedBCEWithLogitsLoss(_LongtailLoss):
    """torch.nn.BCEWithLogitsLoss(weight, reduction=..., pos_weight=...), fused (loss and gradient in one pass)."""

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None, label_smoothing=0.0, grad_mode="fused"):
        super().__init__(weight, pos_weight, reduction, label_smoothing, grad_mode)

    def forward(self, input, target, *, mask=None, sample_weight=None, mean_divisor=None):
        return F.weighted_bce_with_logits(input, target, self.weight, self.pos_weight, self.reduction, mask=mask,
                                          sample_weight=sample_weight, label_smoothing=self.label_smoothing,
                                          mean_divisor=mean_divisor, grad_mode=self.grad_mode)


class FocalBCEWithLogitsLoss(_LongtailLoss):
    """Focal BCE with logits (Lin et al. 2017) with per-class weight / pos_weight, optional alpha, any gamma >= 0."""

    def __init__(self, gamma=2.0, alpha=None, weight=None, *, pos_weight=None, reduction="mean", label_smoothing=0.0,
                 grad_mode="fused"):
        super().__init__(weight, pos_weight, reduction, label_smoothing, grad_mode)
        self.gamma = _checks.number("gamma", gamma)
        self.alpha = _checks.number("alpha", alpha, optional=True)
        if not self.gamma >= 0 or self.gamma == float("inf"):
            raise ValueError(f"longtail: FocalBCEOptions.gamma_pos must be a finite number >= 0 (got {self.gamma})")
        if self.alpha is not None and not 0.0 <= self.alpha <= 1.0:
            raise ValueError(f"longtail: FocalBCEOptions.alpha must be in [0, 1] (got {self.alpha})")

    def forward(self, input, target, *, mask=None, sample_weight=None, mean_divisor=None):
        return F.focal_bce_with_logits(input, target, self.gamma, self.alpha, self.weight, self.pos_weight,
                                       self.reduction, mask=mask, sample_weight=sample_weight,
                                       label_smoothing=self.label_smoothing, mean_divisor=mean_divisor,
                                       grad_mode=self.grad_mode)

    def extra_repr(self):
        return f"gamma={self.gamma}, alpha={self.alpha}, " + super().extra_repr()


class AsymmetricLoss(_LongtailLoss):
    """Asymmetric loss (ASL, Ridnik et al. 2021): gamma_neg / gamma_pos focusing and the probability margin
    (the reference implementation's `clip`) for the negatives. The reference returns -loss.sum():
    reduction='sum' reproduces it."""

    def __init__(self, gamma_neg=4.0, gamma_pos=0.0, margin=0.05, weight=None, *, pos_weight=None, reduction="mean",
                 label_smoothing=0.0, grad_mode="fused"):
        super().__init__(weight, pos_weight, reduction, label_smoothing, grad_mode)
        self.gamma_neg = _checks.number("gamma_neg", gamma_neg)
        self.gamma_pos = _checks.number("gamma_pos", gamma_pos)
        self.margin = _checks.number("margin", margin)

    def forward(self, input, target, *, mask=None, sample_weight=None, mean_divisor=None):
        return F.asymmetric_loss(input, target, self.gamma_neg, self.gamma_pos, self.margin, self.weight,
                                 self.pos_weight, self.reduction, mask=mask, sample_weight=sample_weight,
                                 label_smoothing=self.label_smoothing, mean_divisor=mean_divisor,
                                 grad_mode=self.grad_mode)

    def extra_repr(self):
        return (f"gamma_neg={self.gamma_neg}, gamma_pos={self.gamma_pos}, margin={self.margin}, "
                + super().extra_repr())
