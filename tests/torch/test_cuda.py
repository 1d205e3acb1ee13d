# SPDX-License-Identifier: Apache-2.0
"""The adapter on CUDA tensors (run by tools/gpu-check.sh on a machine with a GPU and a CUDA-enabled
PyTorch; skipped elsewhere, which includes CI: Debian's PyTorch is CPU-only).

Parity with the CPU path (the same math in the CPU functors, float32 within 1e-5 relative: the GPU's
expf is within 2 ulp) and with torchvision on CUDA tensors, the gradient against the float64 CPU
reference that test_gradcheck.py checks by finite differences (the kernels compute in float, so
gradcheck itself, which needs float64, runs on the CPU), the storage types, and CUDA graph capture
of forward + backward."""
import pytest
import torch
import torchvision

import longtail

pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and longtail.with_cuda),
                                reason="needs a GPU and longtail._C built with CUDA")

RTOL = 1e-5


def close(got, want, what, rtol=RTOL):
    got, want = got.double().cpu(), want.double().cpu()
    bound = rtol * (want.abs() + 1e-2 * want.abs().max())
    err = (got - want).abs()
    assert bool((err <= bound).all()) and bool(torch.isfinite(got).all()), f"{what}: max error {err.max().item():.3g}"


def value_grad(fn, x):
    x = x.detach().clone().requires_grad_(True)
    v = fn(x)
    v.sum().backward()
    return v.detach(), x.grad


def problem(rows=512, cols=698):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(rows, cols, generator=g) * 3
    y = (torch.rand(rows, cols, generator=g) < 0.1).float()
    return x, y


CASES = {
    "focal g2 alpha": lambda x, y, **k: longtail.focal_bce_with_logits(x, y, 2.0, 0.25, **k),
    "focal g3": lambda x, y, **k: longtail.focal_bce_with_logits(x, y, 3.0, **k),
    "focal g2.5": lambda x, y, **k: longtail.focal_bce_with_logits(x, y, 2.5, **k),
    "focal g0.5": lambda x, y, **k: longtail.focal_bce_with_logits(x, y, 0.5, **k),
    "asl 0 4 0.05": lambda x, y, **k: longtail.asymmetric_loss(x, y, 4.0, 0.0, 0.05, **k),
    "weighted bce": lambda x, y, **k: longtail.weighted_bce_with_logits(x, y, **k),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("extras", ["plain", "weights mask sample_weight smoothing"])
def test_cuda_matches_cpu(case, reduction, extras):
    x, y = problem()
    kw = {"reduction": reduction}
    cpu_kw, cuda_kw = dict(kw), dict(kw)
    if extras != "plain":
        g = torch.Generator().manual_seed(1)
        pw = torch.rand(x.shape[1], generator=g) * 6
        mask = torch.rand(x.shape, generator=g) > 0.1
        sw = torch.rand(x.shape[0], generator=g) * 2
        cpu_kw.update(pos_weight=pw, mask=mask, sample_weight=sw, label_smoothing=0.1)
        cuda_kw.update(pos_weight=pw.cuda(), mask=mask.cuda(), sample_weight=sw.cuda(), label_smoothing=0.1)
    fn = CASES[case]
    v, g = value_grad(lambda t: fn(t, y, **cpu_kw), x)
    cv, cg = value_grad(lambda t: fn(t, y.cuda(), **cuda_kw), x.cuda())
    assert cv.is_cuda and cg.is_cuda
    close(cv, v, f"{case} loss")
    close(cg, g, f"{case} gradient")


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 3.0])
def test_cuda_matches_torchvision_on_cuda(gamma):
    x, y = problem()
    x, y = x.cuda(), y.cuda()
    v, g = value_grad(lambda t: longtail.sigmoid_focal_loss(t, y, 0.25, gamma, "mean"), x)
    rv, rg = value_grad(lambda t: torchvision.ops.sigmoid_focal_loss(t.double(), y.double(), 0.25, gamma, "mean"), x)
    close(v, rv, "loss")
    close(g, rg, "gradient")


def test_cuda_gradient_matches_float64_reference():
    x, y = problem(64, 37)
    pw = torch.rand(37) * 5
    for fn in CASES.values():
        _, g = value_grad(lambda t: fn(t, y.cuda(), pos_weight=pw.cuda()), x.cuda())
        _, want = value_grad(lambda t: fn(t, y.double(), pos_weight=pw.double()), x.double())
        close(g, want, "gradient vs float64")


@pytest.mark.parametrize("logits_dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("target_dtype", [torch.float32, torch.float16, torch.uint8, torch.bool])
def test_storage_types(logits_dtype, target_dtype):
    x, y = problem()
    xc = x.to(logits_dtype).cuda()
    v, g = value_grad(lambda t: longtail.focal_bce_with_logits(t, y.to(target_dtype).cuda(), 2.0), xc)
    assert v.dtype == logits_dtype and g.dtype == logits_dtype
    want, _ = value_grad(lambda t: longtail.focal_bce_with_logits(t, y, 2.0), xc.float().cpu())
    close(v, want, "loss", rtol=1e-5 if logits_dtype == torch.float32 else 1e-2)


def test_float64_on_cuda_is_refused():
    x, y = problem(4, 5)
    with pytest.raises(TypeError, match="float64 logits run on the CPU"):
        longtail.focal_bce_with_logits(x.double().cuda(), y.cuda())


def test_non_contiguous_cuda_input():
    x, y = problem(64, 40)
    xc, yc = x.cuda(), y.cuda()
    a = longtail.focal_bce_with_logits(xc.t().contiguous().t(), yc, 2.0)
    b = longtail.focal_bce_with_logits(xc, yc, 2.0)
    assert a.item() == b.item()


def test_cuda_graph_capture_of_forward_and_backward():
    x, y = problem()
    static_x = x.cuda().requires_grad_(True)
    static_y = y.cuda()
    pw = (torch.rand(x.shape[1]) * 4).cuda()
    crit = longtail.FocalBCEWithLogitsLoss(2.0, pos_weight=pw)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):  # warm-up outside the capture (allocator, lazy init)
        for _ in range(3):
            static_x.grad = None
            crit(static_x, static_y).backward()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    static_x.grad = None
    with torch.cuda.graph(graph):
        static_loss = crit(static_x, static_y)
        static_loss.backward()
    new_x = torch.randn_like(static_x) * 3
    with torch.no_grad():
        static_x.copy_(new_x)
    graph.replay()
    torch.cuda.synchronize()
    v, g = value_grad(lambda t: crit(t, static_y), new_x)
    assert static_loss.item() == v.item()
    assert torch.equal(static_x.grad, g)
