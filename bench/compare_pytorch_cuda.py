#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""PyTorch on the GPU beside longtail's CUDA kernels: fused loss forward + backward.

For each shape and dtype it times, with CUDA events, one call within back-to-back calls (enough
for ~0.5 ms of GPU work between two events, as longtail_cuda_bench does; median of --repeats
such timings after --warmup calls). Like longtail_cuda_bench, the calls rotate through enough
copies of the inputs that none finds its data in L2 (at 4096x698 a call's working set fits in an
H100's 50 MB L2, and repeated calls on one buffer would time the cache):
  eager    focal: torchvision.ops.sigmoid_focal_loss(alpha=0.25, gamma=2, mean) + autograd backward
           bce:   torch.nn.functional.binary_cross_entropy_with_logits(mean) + autograd backward
  compile  the same functions under torch.compile (AOTAutograd compiles forward and backward)
  fused    focal only: the closed-form value and gradient written out and torch.compile'd into one
           function returning (loss, grad), the strongest PyTorch baseline we could write
and prints them beside longtail's times for the same shape, read from the Google Benchmark JSON of
longtail_cuda_bench (--longtail-json), with the ratio PyTorch time / longtail time.

Pairing: PyTorch float32 rows are compared with longtail's float logits + uint8 targets (the issue's
headline configuration; PyTorch needs floating-point targets, so its targets are float32 and it
moves more bytes), float16 rows with longtail's half logits + uint8 targets.

Usage (on a machine with a CUDA device and torch + torchvision):
  longtail_cuda_bench --benchmark_format=json --benchmark_out=bench.json
  python3 bench/compare_pytorch_cuda.py --longtail-json bench.json [--budget-seconds 150]
Without a CUDA device it exits with status 2 and says so.
"""

import argparse
import json
import math
import statistics
import sys
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--longtail-json", help="Google Benchmark JSON written by longtail_cuda_bench")
    p.add_argument("--shapes", default="4096x698:float32,65536x698:float32,1048576x698:float16",
                   help="comma-separated ROWSxCOLS:DTYPE (float32 | float16 | bfloat16)")
    p.add_argument("--repeats", type=int, default=30)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    p.add_argument("--budget-seconds", type=float, default=0.0,
                   help="stop starting new torch.compile rows after this many seconds (0: no limit)")
    p.add_argument("--json", help="also write the rows as JSON to this file")
    return p.parse_args(argv)


def fail(message, status=2):
    print(f"compare_pytorch_cuda: {message}", file=sys.stderr)
    sys.exit(status)


def parse_shapes(spec):
    out = []
    for item in spec.split(","):
        try:
            shape, dtype = item.split(":")
            rows, cols = (int(v) for v in shape.lower().split("x"))
        except ValueError:
            fail(f"bad --shapes entry {item!r}: expected ROWSxCOLS:DTYPE", 1)
        if dtype not in ("float32", "float16", "bfloat16"):
            fail(f"bad dtype {dtype!r} in --shapes: float32, float16 or bfloat16", 1)
        out.append((rows, cols, dtype))
    return out


def load_longtail(path):
    """{(loss, logits, targets, rows, cols): microseconds} from the benchmark JSON."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        fail(f"cannot read --longtail-json {path}: {e}", 1)
    times = {}
    for b in data.get("benchmarks", []):
        if b.get("error_occurred") or b.get("run_type") != "iteration":
            continue
        parts = b["name"].split("/")  # e.g. focal_fwd_bwd/float/uint8/4096x698/manual_time
        if len(parts) < 4:
            continue
        rows, cols = (int(v) for v in parts[3].split("x"))
        scale = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}[b.get("time_unit", "ns")]
        times[(parts[0], parts[1], parts[2], rows, cols)] = b["real_time"] * scale
    return times, data.get("context", {}).get("cuda_device", "?")


def main(argv):
    args = parse_args(argv)
    shapes = parse_shapes(args.shapes)
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        fail(f"PyTorch is not importable ({e}); install torch with CUDA support")
    try:
        from torchvision.ops import sigmoid_focal_loss
    except ImportError as e:
        fail(f"torchvision is not importable ({e}); it provides the reference sigmoid_focal_loss")
    if not torch.cuda.is_available():
        fail("CUDA is not available (torch.cuda.is_available() is False): this script times GPU kernels "
             "and needs a CUDA device")

    longtail, longtail_device = load_longtail(args.longtail_json) if args.longtail_json else ({}, None)
    device = torch.device("cuda")
    device_name = torch.cuda.get_device_name(device)
    print(f"device: {device_name}; torch {torch.__version__}; longtail JSON device: {longtail_device or '-'}")
    if longtail_device and longtail_device != device_name:
        print(f"warning: longtail's numbers come from {longtail_device}, PyTorch's from {device_name}")

    def focal(x, t):
        return sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0, reduction="mean")

    def bce(x, t):
        return F.binary_cross_entropy_with_logits(x, t, reduction="mean")

    def focal_fused(x, t):
        # Closed form (include/longtail/math/focal_bce.hpp), alpha 0.25, gamma 2, mean; float32 math.
        xf, tf = x.float(), t.float()
        p = torch.sigmoid(xf)
        ce = F.softplus(-xf) * tf + F.softplus(xf) * (1 - tf)
        p_t = p * tf + (1 - p) * (1 - tf)
        a_t = 0.25 * tf + 0.75 * (1 - tf)
        s = 2 * tf - 1
        one_minus = 1 - p_t
        loss = (a_t * one_minus * one_minus * ce).mean()
        # d/dx [a_t (1 - p_t)^2 ce] = s a_t (1 - p_t)^2 (-2 p_t ce - (1 - p_t)), s = 2t - 1
        grad = s * a_t * one_minus * one_minus * (-2.0 * p_t * ce - one_minus) / xf.numel()
        return loss, grad.to(x.dtype)

    def elapsed_ms(fn, calls):
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(calls):
            fn()
        stop.record()
        stop.synchronize()
        return start.elapsed_time(stop)

    def time_ms(fns):
        # As longtail_cuda_bench: per call within back-to-back calls (enough for ~0.5 ms of GPU
        # work between two events), the throughput of a training loop; median of --repeats.
        # fns: one call per input set; consecutive calls take consecutive sets.
        calls_made = [0]

        def fn():
            fns[calls_made[0] % len(fns)]()
            calls_made[0] += 1

        for _ in range(max(args.warmup, len(fns))):
            fn()
        torch.cuda.synchronize()
        one_call = statistics.median(elapsed_ms(fn, 1) for _ in range(15))
        calls = min(200, max(2, math.ceil(0.5 / max(one_call, 1e-6))))
        return statistics.median(elapsed_ms(fn, calls) / calls for _ in range(args.repeats))

    def autograd_call(loss_fn, x, t):
        x.grad = None
        loss_fn(x, t).backward()

    compiled = {}

    def compiled_fn(name, fn):
        if name not in compiled:
            compiled[name] = torch.compile(fn)
        return compiled[name]

    l2_bytes = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 64 << 20) or (64 << 20)
    t0 = time.monotonic()
    rows_out = []
    for rows, cols, dtype_name in shapes:
        dtype = getattr(torch, dtype_name)
        gen = torch.Generator(device=device).manual_seed(0)
        # Input sets: between two uses of one set the others move at least twice the L2 (logits,
        # targets and gradient of each call), the rule of longtail_cuda_bench.
        call_bytes = 3 * rows * cols * torch.tensor([], dtype=dtype).element_size()
        n_sets = 1 if call_bytes >= 2 * l2_bytes else min(64, math.ceil(2 * l2_bytes / call_bytes) + 1)
        base_x = (torch.rand(rows, cols, device=device, generator=gen) * 12 - 6).to(dtype)
        base_t = (torch.rand(rows, cols, device=device, generator=gen) < 0.3).to(dtype)
        sets = [(base_x.clone().requires_grad_(), base_t.clone()) for _ in range(n_sets)]
        del base_x, base_t
        lt_logits = {"float32": "float", "float16": "half", "bfloat16": "bf16"}[dtype_name]

        # Each factory returns one call per input set.
        def eager(loss_fn):
            return lambda: [lambda x=x, t=t: autograd_call(loss_fn, x, t) for x, t in sets]

        def compiled_autograd(name, loss_fn):
            return lambda: [lambda x=x, t=t: autograd_call(compiled_fn(name, loss_fn), x, t) for x, t in sets]

        def compiled_fused():
            f = compiled_fn("focal_fused", focal_fused)
            x, t = sets[0]
            xd = x.detach()
            # The hand-written baseline must compute what torchvision computes.
            loss, grad = f(xd, t)
            x.grad = None
            focal(x, t).backward()
            if dtype == torch.float32:  # half gradients of a mean over millions are mostly subnormal
                torch.testing.assert_close(loss, focal(xd, t), rtol=1e-4, atol=0.0)
                torch.testing.assert_close(grad, x.grad, rtol=1e-3, atol=1e-4 / xd.numel())
            return [lambda xd=x.detach(), t=t: f(xd, t) for x, t in sets]

        variants = [("focal", "eager", eager(focal)), ("bce", "eager", eager(bce))]
        if not args.no_compile:
            variants += [("focal", "compile", compiled_autograd("focal", focal)),
                         ("bce", "compile", compiled_autograd("bce", bce)),
                         ("focal", "fused", compiled_fused)]
        for loss_name, variant, factory in variants:
            if variant != "eager" and args.budget_seconds and time.monotonic() - t0 > args.budget_seconds:
                rows_out.append(dict(rows=rows, cols=cols, dtype=dtype_name, loss=loss_name, variant=variant,
                                     torch_us=None, longtail_us=None, ratio=None, note="skipped: time budget"))
                continue
            fns = factory()
            try:
                ms = time_ms(fns)
            except Exception as e:  # a torch.compile failure must not hide the other rows
                rows_out.append(dict(rows=rows, cols=cols, dtype=dtype_name, loss=loss_name, variant=variant,
                                     torch_us=None, longtail_us=None, ratio=None, note=f"failed: {type(e).__name__}: {e}"))
                continue
            key = ("focal_fwd_bwd" if loss_name == "focal" else "weighted_fwd_bwd", lt_logits, "uint8", rows, cols)
            lt = longtail.get(key)
            rows_out.append(dict(rows=rows, cols=cols, dtype=dtype_name, loss=loss_name, variant=variant,
                                 torch_us=ms * 1e3, longtail_us=lt, ratio=(ms * 1e3 / lt) if lt else None, note=""))
        del sets
        torch.cuda.empty_cache()

    header = f"{'shape':>13} {'dtype':>8} {'loss':>5} {'pytorch':>8} {'torch us':>10} {'longtail us':>12} {'torch/longtail':>15}"
    print(header)
    print("-" * len(header))
    for r in rows_out:
        fmt = lambda v, spec: format(v, spec) if v is not None else "-"
        print(f"{str(r['rows']) + 'x' + str(r['cols']):>13} {r['dtype']:>8} {r['loss']:>5} {r['variant']:>8} "
              f"{fmt(r['torch_us'], '10.1f'):>10} {fmt(r['longtail_us'], '12.1f'):>12} {fmt(r['ratio'], '14.2f'):>14}x"
              + (f"  {r['note']}" if r["note"] else ""))
    print("longtail: float rows = float logits + uint8 targets, float16 rows = half logits + uint8 targets "
          "(PyTorch uses targets of the logits' dtype).")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(device=device_name, torch=torch.__version__, rows=rows_out), f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
