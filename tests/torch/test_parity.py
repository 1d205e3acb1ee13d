# SPDX-License-Identifier: Apache-2.0
"""Values and gradients against PyTorch (F.binary_cross_entropy_with_logits, torchvision's
sigmoid_focal_loss, both evaluated in float64 as the reference) and against the C++ functor called
directly: float32 within 1e-6 relative, float64 within 1e-12."""
import pytest
import torch
import torch.nn.functional as F
import torchvision

import longtail
from longtail import _C

import reference

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}


def close(got, want, rtol, what):
    """Elementwise |got - want| <= rtol * (|want| + 1e-2 * max|want|): relative, with a floor of 1% of
    the largest element for values that are differences of nearly equal terms (label smoothing mixes
    a positive and a negative term of opposite gradients; the ASL margin subtracts m from p): there
    the inputs' own rounding (float32: 6e-8 relative) is amplified by the cancellation, in any
    implementation."""
    got, want = got.double(), want.double()
    scale = want.abs().max().item() if want.numel() else 0.0
    err = (got - want).abs()
    bound = rtol * (want.abs() + 1e-2 * scale)
    bad = (err > bound) | ~torch.isfinite(got)
    worst = (err / bound).argmax()
    assert not bad.any(), (f"{what}: error {err.flatten()[worst].item():.3g} at value "
                           f"{want.flatten()[worst].item():.3g}, bound {bound.flatten()[worst].item():.3g}")


def value_and_grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    v = fn(x)
    (g,) = torch.autograd.grad(v.sum(), x)
    return v.detach(), g


def problem(dtype, rows=64, cols=37, scale=4.0):
    x = (torch.randn(rows, cols, dtype=torch.float64) * scale).to(dtype)
    y = (torch.rand(rows, cols) < 0.3).to(dtype)
    return x, y


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weights", ["none", "weight", "pos_weight", "both"])
def test_weighted_bce_matches_bce_with_logits(dtype, reduction, weights):
    x, y = problem(dtype)
    w = torch.rand(x.shape[1], dtype=dtype) + 0.5 if weights in ("weight", "both") else None
    pw = torch.rand(x.shape[1], dtype=dtype) * 7 + 0.1 if weights in ("pos_weight", "both") else None
    v, g = value_and_grad(lambda t: longtail.weighted_bce_with_logits(t, y, w, pw, reduction), x)
    d = lambda t: None if t is None else t.double()  # noqa: E731
    rv, rg = value_and_grad(
        lambda t: F.binary_cross_entropy_with_logits(t, y.double(), d(w), pos_weight=d(pw), reduction=reduction),
        x.double())
    assert v.dtype == dtype and g.dtype == dtype
    close(v, rv, TOL[dtype], "loss")
    close(g, rg, TOL[dtype], "gradient")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 2.5, 3.0])
@pytest.mark.parametrize("alpha", [0.25, -1.0])
def test_focal_matches_torchvision(dtype, reduction, gamma, alpha):
    x, y = problem(dtype)
    v, g = value_and_grad(lambda t: longtail.sigmoid_focal_loss(t, y, alpha, gamma, reduction), x)
    rv, rg = value_and_grad(
        lambda t: torchvision.ops.sigmoid_focal_loss(t, y.double(), alpha, gamma, reduction), x.double())
    close(v, rv, TOL[dtype], "loss")
    close(g, rg, TOL[dtype], "gradient")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_focal_module_with_weights_smoothing_mask_sample_weight(dtype):
    x, y = problem(dtype)
    C = x.shape[1]
    w, pw = torch.rand(C, dtype=dtype) + 0.5, torch.rand(C, dtype=dtype) * 7
    mask = torch.rand(x.shape) > 0.2
    sw = torch.rand(x.shape[0], dtype=dtype) * 2
    for gamma, alpha in [(2.0, None), (0.5, 0.25), (3.0, 0.75)]:
        loss = longtail.FocalBCEWithLogitsLoss(gamma, alpha, w, pos_weight=pw, label_smoothing=0.1)
        v, g = value_and_grad(lambda t: loss(t, y, mask=mask, sample_weight=sw), x)
        rv, rg = value_and_grad(
            lambda t: reference.focal(t, y.double(), gamma, gamma, alpha, 0.0, w.double(), pw.double(), 0.1, mask,
                                      sw.double()), x.double())
        close(v, rv, TOL[dtype], f"loss gamma {gamma}")
        close(g, rg, TOL[dtype], f"gradient gamma {gamma}")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("params", [(0.0, 4.0, 0.05), (1.0, 4.0, 0.05), (0.0, 2.5, 0.0), (1.0, 1.5, 0.2)])
def test_asymmetric_loss_matches_reference(dtype, params):
    gamma_pos, gamma_neg, margin = params
    x, y = problem(dtype, scale=2.0)
    v, g = value_and_grad(lambda t: longtail.AsymmetricLoss(gamma_neg, gamma_pos, margin, reduction="sum")(t, y), x)
    rv, rg = value_and_grad(
        lambda t: reference.focal(t, y.double(), gamma_pos, gamma_neg, None, margin, reduction="sum"), x.double())
    close(v, rv, TOL[dtype], "loss")
    close(g, rg, TOL[dtype], "gradient")


@pytest.mark.parametrize("gamma", [0.25, 0.5, 0.75])
def test_gamma_below_one_at_logits_1e4_finite_where_pytorch_gives_nan(gamma):
    """The named case: 0 < gamma < 1 at logits of +-1e4. torchvision's autograd differentiates
    (1 - p_t)^gamma at p_t = 1, gets inf * 0 = NaN; longtail's closed-form gradient is finite and
    equals the limits: 0 for the well-classified elements, -+1 / n for the badly classified ones."""
    x = torch.tensor([[1e4, -1e4, 1e4, -1e4, 3.0]], dtype=torch.float64)
    y = torch.tensor([[1.0, 0.0, 0.0, 1.0, 1.0]], dtype=torch.float64)
    _, tg = value_and_grad(lambda t: torchvision.ops.sigmoid_focal_loss(t, y, -1, gamma, "mean"), x)
    assert torch.isnan(tg[0, :2]).all(), "PyTorch's gradient is expected to be NaN here"
    for dtype in (torch.float32, torch.float64):
        v, g = value_and_grad(lambda t: longtail.sigmoid_focal_loss(t, y.to(dtype), -1, gamma, "mean"), x.to(dtype))
        assert torch.isfinite(v).all() and torch.isfinite(g).all()
        n = x.numel()
        # well classified: loss and gradient 0; badly classified: loss 1e4 / n, gradient -+1 / n
        assert g[0, 0].item() == 0 and g[0, 1].item() == 0
        assert g[0, 2].item() == pytest.approx(1 / n, rel=1e-6) and g[0, 3].item() == pytest.approx(-1 / n, rel=1e-6)
        # the moderate element agrees with PyTorch
        assert g[0, 4].item() == pytest.approx(tg[0, 4].item(), rel=TOL[dtype])
        assert v.item() == pytest.approx((2e4 + reference.focal(x[:, 4:], y[:, 4:], gamma, gamma,
                                                                  reduction="sum").item()) / n, rel=TOL[dtype])


@pytest.mark.parametrize("loss", ["focal", "weighted_bce"])
def test_same_bits_as_the_cpp_functor(loss):
    """The adapter adds nothing to the numbers: loss and gradient are the CPU functor's, bit for bit."""
    x, y = problem(torch.float32, rows=128, cols=698)
    grad = torch.empty_like(x)
    want = _C._raw_forward_backward(loss, x, y, grad, 2.0)
    xr = x.clone().requires_grad_(True)
    got = (longtail.focal_bce_with_logits(xr, y, 2.0) if loss == "focal"
           else longtail.weighted_bce_with_logits(xr, y))
    got.backward()
    assert got.item() == torch.tensor(want, dtype=torch.float32).item()
    assert torch.equal(xr.grad, grad)


def test_mean_divisor_replaces_the_count():
    x, y = problem(torch.float64)
    mask = torch.rand(x.shape) > 0.5
    got = longtail.focal_bce_with_logits(x, y, 2.0, mask=mask, mean_divisor=1000.0)
    want = reference.focal(x, y, mask=mask, reduction="sum") / 1000.0
    assert got.item() == pytest.approx(want.item(), rel=1e-12)
    with pytest.raises(ValueError, match="mean_divisor"):
        longtail.focal_bce_with_logits(x, y, 2.0, reduction="sum", mean_divisor=10.0)
    with pytest.raises(ValueError, match="mean_divisor"):
        longtail.focal_bce_with_logits(x, y, 2.0, mean_divisor=0.0)
