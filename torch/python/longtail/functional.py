# SPDX-License-Identifier: Apache-2.0
"""Functional forms of longtail's losses (the nn.Modules in longtail.modules call these).

Every function takes logits `input` of shape (..., C) (the last dimension is the labels; a 1-D
input is one sample) and `target` of the same shape (float / float16 / uint8 / bool, hard or soft
in [0, 1]), and returns a 0-d tensor (reduction 'mean' / 'sum') or the per-element losses
('none'), differentiable with respect to `input`. Keyword-only extras, common to all:
  mask           same shape as input, nonzero = valid; masked elements add nothing and get gradient 0
  sample_weight  one weight per sample (shape (N,) or (N, 1)), multiplies that row's terms
  label_smoothing  eps in [0, 1): y <- y (1 - eps) + eps / 2
  mean_divisor   with reduction 'mean': divide by this count instead of the number of valid
                 elements (DistributedDataParallel: longtail.distributed.ddp_mean_divisor)
  grad_mode      'fused' (default): the forward evaluates the gradient in the same pass and keeps
                 it (one tensor the size of input) until backward; 'recompute': backward evaluates it
  check_inputs   also check every target value (finite, in [0, 1]): a second pass, for debugging
`weight` and `pos_weight` are per class (shape (C,)), as in BCEWithLogitsLoss; `weight` of shape
(N, 1) is a per-sample weight, as PyTorch's broadcasting makes it.
"""
from . import _C
from . import _checks


def _call(kernel, input, target, weight, pos_weight, reduction, mask, sample_weight, label_smoothing, mean_divisor,
          grad_mode, check_inputs, *focal):
    _checks.tensor("input", input)
    _checks.tensor("target", target)
    _checks.tensor("weight", weight, optional=True)
    _checks.tensor("pos_weight", pos_weight, optional=True)
    _checks.tensor("mask", mask, optional=True)
    _checks.tensor("sample_weight", sample_weight, optional=True)
    reduction = _checks.reduction(reduction)
    label_smoothing = _checks.number("label_smoothing", label_smoothing)
    mean_divisor = _checks.number("mean_divisor", mean_divisor, optional=True)
    recompute = _checks.grad_mode(grad_mode)
    if input.dim() == 0:
        raise ValueError("longtail: input must have at least one dimension (the labels); got a 0-d tensor")
    if target.shape != input.shape:
        raise ValueError(f"longtail: target has shape {tuple(target.shape)} but input has shape {tuple(input.shape)}")
    if mask is not None and mask.shape != input.shape:
        raise ValueError(f"longtail: mask has shape {tuple(mask.shape)} but input has shape {tuple(input.shape)}")
    shape = input.shape
    if input.dim() != 2:  # (..., C) -> (N, C); a view whenever the strides allow it
        labels = shape[-1]
        input = input.reshape(-1, labels)
        target = target.reshape(-1, labels)
        if mask is not None:
            mask = mask.reshape(-1, labels)
    if kernel is _C.focal_bce:
        out = kernel(input, target, weight, pos_weight, mask, sample_weight, *focal, reduction, label_smoothing,
                     mean_divisor, recompute, bool(check_inputs))
    else:
        out = kernel(input, target, weight, pos_weight, mask, sample_weight, reduction, label_smoothing, mean_divisor,
                     recompute, bool(check_inputs))
    if reduction == "none" and out.shape != shape:
        out = out.reshape(shape)
    return out


def weighted_bce_with_logits(input, target, weight=None, pos_weight=None, reduction="mean", *, mask=None,
                             sample_weight=None, label_smoothing=0.0, mean_divisor=None, grad_mode="fused",
                             check_inputs=False):
    """torch.nn.functional.binary_cross_entropy_with_logits(input, target, weight, pos_weight=..., reduction=...):
    l = w_c [ pw_c y softplus(-x) + (1 - y) softplus(x) ], one fused pass for loss and gradient."""
    return _call(_C.weighted_bce, input, target, weight, pos_weight, reduction, mask, sample_weight, label_smoothing,
                 mean_divisor, grad_mode, check_inputs)


def _focal(input, target, gamma_pos, gamma_neg, alpha, margin, weight, pos_weight, reduction, mask, sample_weight,
           label_smoothing, mean_divisor, grad_mode, check_inputs):
    gamma_pos = _checks.number("gamma_pos" if gamma_pos != gamma_neg else "gamma", gamma_pos)
    gamma_neg = _checks.number("gamma_neg", gamma_neg)
    alpha = _checks.number("alpha", alpha, optional=True)
    margin = _checks.number("margin", margin)
    return _call(_C.focal_bce, input, target, weight, pos_weight, reduction, mask, sample_weight, label_smoothing,
                 mean_divisor, grad_mode, check_inputs, gamma_pos, gamma_neg, alpha, margin)


def focal_bce_with_logits(input, target, gamma=2.0, alpha=None, weight=None, pos_weight=None, reduction="mean", *,
                          mask=None, sample_weight=None, label_smoothing=0.0, mean_divisor=None, grad_mode="fused",
                          check_inputs=False):
    """Focal BCE: l = w_c [ a+ pw_c y (1-p)^gamma softplus(-x) + a- (1-y) p^gamma softplus(x) ],
    a+ = alpha, a- = 1 - alpha when alpha is given (torchvision), else 1. Any real gamma >= 0, with
    finite gradients also for 0 < gamma < 1 and at logits of +-1e4."""
    return _focal(input, target, gamma, gamma, alpha, 0.0, weight, pos_weight, reduction, mask, sample_weight,
                  label_smoothing, mean_divisor, grad_mode, check_inputs)


def asymmetric_loss(input, target, gamma_neg=4.0, gamma_pos=0.0, margin=0.05, weight=None, pos_weight=None,
                    reduction="mean", *, mask=None, sample_weight=None, label_smoothing=0.0, mean_divisor=None,
                    grad_mode="fused", check_inputs=False):
    """Asymmetric loss (ASL, Ridnik et al. 2021; `margin` is the reference code's `clip`):
    l = w_c [ pw_c y (1-p)^gamma_pos softplus(-x) + (1-y) p_m^gamma_neg (-log(1 - p_m)) ], p_m = max(p - margin, 0).
    The reference code returns -sum; reduction='sum' gives that value."""
    return _focal(input, target, gamma_pos, gamma_neg, None, margin, weight, pos_weight, reduction, mask,
                  sample_weight, label_smoothing, mean_divisor, grad_mode, check_inputs)


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2.0, reduction="none"):
    """Drop-in for torchvision.ops.sigmoid_focal_loss (same arguments and defaults; alpha < 0 means
    no alpha weighting, as there). Same value and gradient for hard targets; for soft targets longtail
    mixes the positive and negative terms linearly (README: label smoothing)."""
    alpha = _checks.number("alpha", alpha)
    return focal_bce_with_logits(inputs, targets, gamma, alpha if alpha >= 0 else None, reduction=reduction)
