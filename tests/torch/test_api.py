# SPDX-License-Identifier: Apache-2.0
"""The adapter as PyTorch code uses it: layouts, dtypes, autograd modes, modules, errors."""
import pytest
import torch
import torch.nn.functional as F

import longtail

import reference


def problem(rows=16, cols=9, dtype=torch.float32):
    return torch.randn(rows, cols, dtype=dtype) * 3, (torch.rand(rows, cols) < 0.4).to(dtype)


def grad_of(fn, x):
    x = x.detach().requires_grad_(True)  # keeps x's strides (a clone would make some contiguous)
    fn(x).sum().backward()
    return x.grad


@pytest.mark.parametrize("mode", ["fused", "recompute"])
def test_non_contiguous_inputs_read_in_place(mode):
    """Transposed, strided and broadcast (stride 0) tensors give the numbers of their contiguous copies."""
    x, y = problem(20, 12, torch.float64)
    sliced = torch.randn(20, 24, dtype=torch.float64)
    sliced[:, ::2] = x
    w = torch.rand(12, dtype=torch.float64)
    cases = [(x.t().contiguous().t(), y.t().contiguous().t()),  # column-major
             (sliced[:, ::2], y),  # column stride 2
             (x, y[:1].expand(20, 12))]  # row stride 0
    for view, yv in cases:
        assert not view.is_contiguous() or not yv.is_contiguous()
        fn = lambda t, yy: longtail.focal_bce_with_logits(t, yy, 2.0, pos_weight=w, grad_mode=mode)  # noqa: E731
        assert fn(view, yv).item() == pytest.approx(fn(view.contiguous(), yv.contiguous()).item(), rel=1e-14)
        g = grad_of(lambda t: fn(t, yv), view)
        assert torch.allclose(g, grad_of(lambda t: fn(t, yv.contiguous()), view.contiguous()), rtol=1e-14, atol=0)


def test_target_dtypes_and_half_logits():
    x, y = problem()
    want = longtail.focal_bce_with_logits(x, y, 2.0)
    for yy in (y.bool(), y.to(torch.uint8), y.double(), y.half()):
        assert longtail.focal_bce_with_logits(x, yy, 2.0).item() == want.item()
    for dt in (torch.float16, torch.bfloat16):
        xh = x.to(dt).requires_grad_(True)
        v = longtail.focal_bce_with_logits(xh, y, 2.0)
        v.backward()
        assert v.dtype == dt and xh.grad.dtype == dt
        ref = reference.focal(xh.detach().double(), y.double())
        assert v.item() == pytest.approx(ref.item(), rel=1e-2)


def test_nd_input_last_dimension_is_labels():
    x, y = torch.randn(2, 3, 5), (torch.rand(2, 3, 5) > 0.5).float()
    got = longtail.weighted_bce_with_logits(x, y, reduction="none")
    assert got.shape == (2, 3, 5)
    assert torch.allclose(got, F.binary_cross_entropy_with_logits(x, y, reduction="none"), rtol=1e-6)
    one = longtail.weighted_bce_with_logits(x[0, 0], y[0, 0])  # 1-D: one sample
    assert one.item() == pytest.approx(F.binary_cross_entropy_with_logits(x[0, 0], y[0, 0]).item(), rel=1e-6)


def test_no_grad_and_inputs_without_grad():
    x, y = problem()
    with torch.no_grad():
        v = longtail.focal_bce_with_logits(x.requires_grad_(True), y)
    assert not v.requires_grad and v.grad_fn is None
    assert not longtail.focal_bce_with_logits(x.detach(), y).requires_grad


def test_in_place_change_of_logits_after_forward():
    """Fused: the gradient was evaluated in the forward, later in-place edits cannot change it.
    Recompute: autograd's version check refuses the edited logits instead of a wrong gradient."""
    x, y = problem()
    want = grad_of(lambda t: longtail.focal_bce_with_logits(t, y), x)
    leaf = x.clone().requires_grad_(True)
    h = leaf * 1.0
    v = longtail.focal_bce_with_logits(h, y)
    with torch.no_grad():
        h.mul_(0.0)
    v.backward()
    assert torch.allclose(leaf.grad, want, rtol=1e-6)
    h = leaf * 1.0
    v = longtail.focal_bce_with_logits(h, y, grad_mode="recompute")
    with torch.no_grad():
        h.mul_(0.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        v.backward()


@pytest.mark.parametrize("mode", ["fused", "recompute"])
def test_gradient_scaled_by_upstream_and_retain_graph(mode):
    x, y = problem()
    xr = x.clone().requires_grad_(True)
    v = longtail.focal_bce_with_logits(xr, y, 3.0, grad_mode=mode)
    (3.5 * v).backward(retain_graph=True)
    first = xr.grad.clone()
    xr.grad = None
    v.backward(retain_graph=True)
    assert torch.allclose(first, 3.5 * xr.grad, rtol=1e-6)
    xr.grad.zero_()  # in place on the .grad of the second call: the third must still be right
    v.backward()
    assert torch.allclose(first, 3.5 * xr.grad, rtol=1e-6)


def test_double_backward_is_refused_with_a_clear_error():
    x, y = problem()
    xr = x.clone().requires_grad_(True)
    with pytest.raises(RuntimeError, match="double backward is not supported"):
        torch.autograd.grad(longtail.focal_bce_with_logits(xr, y), xr, create_graph=True)


def test_module_in_sequential_trains():
    torch.manual_seed(0)
    x = torch.randn(128, 10)
    y = (x[:, :6] + 0.3 * torch.randn(128, 6) > 0.5).float()
    counts = longtail.label_counts(y)
    model = torch.nn.Sequential(torch.nn.Linear(10, 16), torch.nn.ReLU(), torch.nn.Linear(16, 6))
    crit = longtail.FocalBCEWithLogitsLoss(2.0, pos_weight=longtail.class_weights(counts, 128, cap=7))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = crit(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.6 * losses[0]
    assert set(dict(crit.named_buffers())) == {"pos_weight"}
    assert "pos_weight" in crit.state_dict()


def test_one_line_swap_for_bce_with_logits_loss():
    x, y = problem()
    pw = torch.rand(9) * 5
    a = torch.nn.BCEWithLogitsLoss(pos_weight=pw)
    b = longtail.WeightedBCEWithLogitsLoss(pos_weight=pw)
    assert b(x, y).item() == pytest.approx(a(x, y).item(), rel=1e-6)


# ---- errors: TypeError / ValueError with longtail's messages, never a crash ---------------------------------


def test_bad_arguments_raise_value_error_naming_the_argument():
    x, y = problem()
    cases = [
        (lambda: longtail.focal_bce_with_logits(x, y, -1.0), "gamma_pos must be a finite number >= 0"),
        (lambda: longtail.focal_bce_with_logits(x, y, 2.0, 1.5), r"alpha must be in \[0, 1\]"),
        (lambda: longtail.focal_bce_with_logits(x, y[:, :4]), "target has shape"),
        (lambda: longtail.weighted_bce_with_logits(x, y, reduction="avg"), "reduction must be 'none', 'mean' or 'sum'"),
        (lambda: longtail.weighted_bce_with_logits(x, y, pos_weight=torch.ones(4)), "pos_weight has shape"),
        (lambda: longtail.weighted_bce_with_logits(x, y, pos_weight=-torch.ones(9)), r"pos_weight\[0\] must be finite"),
        (lambda: longtail.weighted_bce_with_logits(x, y, sample_weight=torch.ones(3)), "sample_weight has shape"),
        (lambda: longtail.weighted_bce_with_logits(x, y, label_smoothing=1.0), "label_smoothing must be in"),
        (lambda: longtail.weighted_bce_with_logits(x, y * 2, check_inputs=True), r"targets\(0, "),
        (lambda: longtail.FocalBCEWithLogitsLoss(alpha=2.0), "alpha must be in"),
        (lambda: longtail.class_weights(torch.tensor([1.0, 5.0]), 3), r"label_counts\[1\] must be an integer count"),
        (lambda: longtail.class_weights(torch.tensor([1.0]), 3, "inverse"), "scheme must be one of"),
        (lambda: longtail.focal_bce_with_logits(x.requires_grad_(True), y.requires_grad_(True)),
         "targets requires grad"),
        (lambda: longtail.focal_bce_with_logits(torch.tensor(1.0), torch.tensor(1.0)), "at least one dimension"),
    ]
    for fn, message in cases:
        with pytest.raises(ValueError, match=message):
            fn()
        x.requires_grad_(False)
        y.requires_grad_(False)


def test_bad_types_raise_type_error():
    x, y = problem()
    cases = [
        (lambda: longtail.focal_bce_with_logits(x.numpy(), y), "input must be a torch.Tensor"),
        (lambda: longtail.focal_bce_with_logits(x.int(), y), "logits has dtype Int but must be float32"),
        (lambda: longtail.focal_bce_with_logits(x, y, "2"), "gamma must be a real number"),
        (lambda: longtail.weighted_bce_with_logits(x, y, pos_weight=[1.0] * 9), "pos_weight must be a torch.Tensor"),
        (lambda: longtail.weighted_bce_with_logits(x, y, pos_weight=torch.ones(9, dtype=torch.bool)),
         "pos_weight has dtype Bool"),
        (lambda: longtail.metrics.f1_scores([[0.1]], [[1.0]]), "scores must be a torch.Tensor or a numpy.ndarray"),
        (lambda: longtail.class_weights(torch.tensor([1.0]), 3.5), "n .* must be an int"),
    ]
    for fn, message in cases:
        with pytest.raises(TypeError, match=message):
            fn()


def test_nan_logits_propagate_without_crash():
    x, y = problem()
    x[2, 3] = float("nan")
    xr = x.requires_grad_(True)
    v = longtail.focal_bce_with_logits(xr, y)
    v.backward()
    assert torch.isnan(v) and torch.isnan(xr.grad[2, 3])
