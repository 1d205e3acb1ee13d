# SPDX-License-Identifier: Apache-2.0
"""torch.autograd.gradcheck (float64, finite differences against the closed-form gradient) for every
loss and option combination: weights, alpha, gamma in {0, 0.5, 1, 2, 2.5, 3}, ASL, smoothing, mask,
sample weight, each reduction, both gradient modes. Small shapes: each case is a few ms."""
import itertools

import pytest
import torch

import longtail

ROWS, COLS = 3, 4


def inputs():
    x = (torch.randn(ROWS, COLS, dtype=torch.float64) * 2).requires_grad_(True)
    y = (torch.rand(ROWS, COLS) < 0.5).double()
    y[0, 0] = 0.3  # one soft target
    return x, y


def extras(kind):
    """The optional tensors of one case."""
    out = {}
    if "w" in kind:
        out["weight"] = torch.rand(COLS, dtype=torch.float64) + 0.5
    if "pw" in kind:
        out["pos_weight"] = torch.rand(COLS, dtype=torch.float64) * 3 + 0.5
    if "mask" in kind:
        m = torch.ones(ROWS, COLS, dtype=torch.bool)
        m[1, 2] = m[2, 0] = False
        out["mask"] = m
    if "sw" in kind:
        out["sample_weight"] = torch.tensor([0.5, 2.0, 1.0], dtype=torch.float64)
    return out


EXTRAS = [(), ("w", "pw"), ("mask",), ("sw",), ("w", "pw", "mask", "sw")]
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 2.5, 3.0])
@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_focal(gamma, alpha, reduction):
    x, y = inputs()
    for kind, smoothing, mode in itertools.product(EXTRAS, [0.0, 0.1], ["fused", "recompute"]):
        ex = extras(kind)
        mask, sw = ex.pop("mask", None), ex.pop("sample_weight", None)
        f = lambda t: longtail.focal_bce_with_logits(  # noqa: E731
            t, y, gamma, alpha, reduction=reduction, mask=mask, sample_weight=sw, label_smoothing=smoothing,
            grad_mode=mode, **ex)
        assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-8, rtol=1e-6), (kind, smoothing, mode)


@pytest.mark.parametrize("params", [(0.0, 4.0, 0.05), (1.0, 2.5, 0.1), (2.0, 0.5, 0.0), (0.5, 3.0, 0.2)])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_asymmetric(params, reduction):
    gamma_pos, gamma_neg, margin = params
    x, y = inputs()
    for kind, smoothing in itertools.product(EXTRAS, [0.0, 0.1]):
        ex = extras(kind)
        mask, sw = ex.pop("mask", None), ex.pop("sample_weight", None)
        f = lambda t: longtail.asymmetric_loss(  # noqa: E731
            t, y, gamma_neg, gamma_pos, margin, reduction=reduction, mask=mask, sample_weight=sw,
            label_smoothing=smoothing, **ex)
        assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-8, rtol=1e-6), (kind, smoothing)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_bce(reduction):
    x, y = inputs()
    for kind, smoothing, mode in itertools.product(EXTRAS, [0.0, 0.1], ["fused", "recompute"]):
        ex = extras(kind)
        mask, sw = ex.pop("mask", None), ex.pop("sample_weight", None)
        f = lambda t: longtail.weighted_bce_with_logits(  # noqa: E731
            t, y, reduction=reduction, mask=mask, sample_weight=sw, label_smoothing=smoothing, grad_mode=mode, **ex)
        assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-8, rtol=1e-6), (kind, smoothing, mode)


def test_mean_divisor():
    x, y = inputs()
    f = lambda t: longtail.focal_bce_with_logits(t, y, 2.5, mean_divisor=7.0)  # noqa: E731
    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-8, rtol=1e-6)
