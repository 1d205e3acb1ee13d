#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The PyTorch adapter at the PyTorch level: everything a user pays (Python call, argument checks,
autograd, backward) for forward + backward, side by side in one run:

  focal gamma 2 (alpha 0.25)   longtail.sigmoid_focal_loss  vs torchvision.ops.sigmoid_focal_loss
  weighted BCE (weight, pos_weight)  longtail.WeightedBCEWithLogitsLoss vs torch.nn.BCEWithLogitsLoss
  adapter overhead             longtail (autograd) vs the C++ functor called directly on the same
                               tensors (longtail._C._raw_forward_backward: no autograd, no checks)
  peak memory                  of one forward + backward, each in a fresh process (growth of the peak
                               resident size with every large tensor in its own mapping)
  training step                the Python example's step (MLP 5000 -> 512 -> 698, batch 256, Adam):
                               share of the step spent in the loss, longtail vs torchvision focal gamma 3

Times are medians over --repeats rounds of --iters calls each, the variants interleaved round by
round (so that load on a shared machine hits all of them alike). --device cuda times with CUDA
events, compares the adapter with the launcher it calls (the raw-kernel baseline) and torchvision.

  PYTHONPATH=build-torch/python /usr/bin/python3 bench/bench_torch_adapter.py --threads 1 2
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch
import torchvision

import longtail
from longtail import _C


def timer(device):
    if device == "cuda":
        def run(fn, iters):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(iters):
                fn()
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / iters * 1e-3
    else:
        def run(fn, iters):
            t0 = time.perf_counter()
            for _ in range(iters):
                fn()
            return (time.perf_counter() - t0) / iters
    return run


def fwd_bwd(loss_fn, x):
    def fn():
        x.grad = None
        loss_fn(x).backward()
    return fn


def measure(variants, device, iters, repeats):
    """{name: median seconds per call}, variants interleaved round by round after one warm-up."""
    run = timer(device)
    samples = {k: [] for k in variants}
    for fn in variants.values():
        run(fn, 2)
    for _ in range(repeats):
        for name, fn in variants.items():
            samples[name].append(run(fn, iters))
    return {k: statistics.median(v) for k, v in samples.items()}, {
        k: (max(v) - min(v)) / 2 / statistics.median(v) * 100 for k, v in samples.items()}


def loss_variants(rows, cols, device):
    g = torch.Generator().manual_seed(0)
    x = (torch.randn(rows, cols, generator=g) * 2).to(device).requires_grad_(True)
    y = (torch.rand(rows, cols, generator=g) < 0.05).float().to(device)
    w = (torch.rand(cols, generator=g) + 0.5).to(device)
    pw = (torch.rand(cols, generator=g) * 6 + 1).to(device)
    grad = torch.empty_like(x)
    xd = x.detach()
    lt_bce = longtail.WeightedBCEWithLogitsLoss(w, pos_weight=pw)
    pt_bce = torch.nn.BCEWithLogitsLoss(w, pos_weight=pw)
    lt_bce_plain = longtail.WeightedBCEWithLogitsLoss()
    return {
        "focal_g2 torchvision": fwd_bwd(lambda t: torchvision.ops.sigmoid_focal_loss(t, y, 0.25, 2, "mean"), x),
        "focal_g2 longtail": fwd_bwd(lambda t: longtail.sigmoid_focal_loss(t, y, 0.25, 2, "mean"), x),
        "weighted_bce torch": fwd_bwd(lambda t: pt_bce(t, y), x),
        "weighted_bce longtail": fwd_bwd(lambda t: lt_bce(t, y), x),
        # overhead pairs: the same computation with and without the adapter around it
        "focal_g2 (no alpha) longtail": fwd_bwd(lambda t: longtail.focal_bce_with_logits(t, y, 2.0), x),
        "focal_g2 (no alpha) raw functor": lambda: _C._raw_forward_backward("focal", xd, y, grad, 2.0),
        "bce (no weights) longtail": fwd_bwd(lambda t: lt_bce_plain(t, y), x),
        "bce (no weights) raw functor": lambda: _C._raw_forward_backward("bce", xd, y, grad, 0.0),
    }


def mlp_step_variants(device, gamma=3.0, batch=256, features=5000, hidden=512, labels=698):
    """One training step of examples/torch_train.py (sparse-like TF-IDF rows, ~31 non-zeros each)."""
    g = torch.Generator().manual_seed(1)
    x = torch.zeros(batch, features)
    for i in range(batch):
        x[i, torch.randint(0, features, (31,), generator=g)] = torch.rand(31, generator=g) * 2
    x = x.to(device)
    y = (torch.rand(batch, labels, generator=g) < 0.007).float().to(device)
    out = {}
    for name, crit in [("longtail", lambda z: longtail.focal_bce_with_logits(z, y, gamma)),
                       ("torchvision", lambda z: torchvision.ops.sigmoid_focal_loss(z, y, -1, gamma, "mean"))]:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.ReLU(),
                                    torch.nn.Linear(hidden, labels)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def step(model=model, opt=opt, crit=crit):
            opt.zero_grad(set_to_none=True)
            crit(model(x)).backward()
            opt.step()
        z = model(x).detach().requires_grad_(True)
        out[f"step {name}"] = step
        out[f"loss only {name}"] = fwd_bwd(crit, z)
    return out


PEAK_CHILD = r"""
import sys, torch, torchvision, longtail
def hwm():  # the peak resident size of this process's memory map (getrusage's ru_maxrss would
    # include the parent's size at fork, which exec does not reset)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
torch.set_num_threads(1)
rows, cols, device, variant = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.manual_seed(0)
def inputs(r):
    # in place, without temporaries: the process's peak so far is its current size
    x = torch.empty(r, cols, device=device).normal_(0, 2).requires_grad_(True)
    y = torch.empty(r, cols, device=device).bernoulli_(0.05)
    return x, y, torch.empty(cols, device=device).uniform_(0.5, 1.5), torch.empty(cols, device=device).uniform_(1, 7)
fns = {
    "focal_g2 torchvision": lambda x, y, w, pw: torchvision.ops.sigmoid_focal_loss(x, y, 0.25, 2, "mean"),
    "focal_g2 longtail": lambda x, y, w, pw: longtail.sigmoid_focal_loss(x, y, 0.25, 2, "mean"),
    "focal_g2 longtail recompute": lambda x, y, w, pw: longtail.focal_bce_with_logits(x, y, 2.0, 0.25,
                                                                                      grad_mode="recompute"),
    "weighted_bce torch": lambda x, y, w, pw: torch.nn.functional.binary_cross_entropy_with_logits(x, y, w,
                                                                                                   pos_weight=pw),
    "weighted_bce longtail": lambda x, y, w, pw: longtail.weighted_bce_with_logits(x, y, w, pw),
}
f = fns[variant]
f(*inputs(16)).backward()  # code paths and thread pools initialised on a small batch
x, y, w, pw = inputs(rows)
if device == "cuda":
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
else:
    base = hwm()
f(x, y, w, pw).backward()
if device == "cuda":
    torch.cuda.synchronize(); peak = torch.cuda.max_memory_allocated() - base
else:
    peak = hwm() - base
print(peak)
"""


def peak_memory(rows, cols, device, variant):
    # A fixed mmap threshold: every large tensor is its own mapping, returned to the system when
    # freed, so the growth of the peak resident size is the peak of what forward + backward hold.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env["MALLOC_MMAP_THRESHOLD_"] = "65536"
    out = subprocess.run([sys.executable, "-c", PEAK_CHILD, str(rows), str(cols), device, variant], check=True,
                         capture_output=True, text=True, env=env)
    return int(out.stdout.strip().splitlines()[-1])


# As bench/compare_pytorch.py: glibc's mmap off for the timings, so that a tensor freed by one call
# is reused by the next instead of being mapped (and page-faulted) afresh; --malloc default keeps
# glibc's defaults (then every large temporary, PyTorch's and the adapter's gradient alike, pays
# its page faults on every call).
MALLOC_REUSE_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--cols", type=int, default=698)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--iters", type=int, default=10, help="calls per timed round")
    ap.add_argument("--repeats", type=int, default=15, help="timed rounds (the median is reported)")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--malloc", choices=("reuse", "default"), default="reuse")
    args = ap.parse_args()
    if args.malloc == "reuse" and any(os.environ.get(k) != v for k, v in MALLOC_REUSE_ENV.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_REUSE_ENV})
    if args.device == "cuda" and not longtail.with_cuda:
        sys.exit("bench_torch_adapter: longtail._C was built without CUDA (needs nvcc + a CUDA-enabled libtorch)")
    results = {"rows": args.rows, "cols": args.cols, "device": args.device, "torch": torch.__version__,
               "malloc": args.malloc,
               "load_average": os.getloadavg(), "runs": {}}
    print(f"# {args.rows}x{args.cols} float32, {args.device}, torch {torch.__version__}, torchvision "
          f"{torchvision.__version__}, malloc {args.malloc}, load average {os.getloadavg()[0]:.1f}")
    for threads in (args.threads if args.device == "cpu" else [torch.get_num_threads()]):
        torch.set_num_threads(threads)
        med, spread = measure(loss_variants(args.rows, args.cols, args.device), args.device, args.iters, args.repeats)
        step_med, step_spread = measure(mlp_step_variants(args.device), args.device, args.iters, args.repeats)
        med.update(step_med)
        spread.update(step_spread)
        results["runs"][threads] = {"median_s": med, "spread_pct": spread}
        print(f"\n## {threads} thread(s)\n\n| variant | ms (median) | ±% |\n|---|---:|---:|")
        for k in med:
            print(f"| {k} | {med[k] * 1e3:.3f} | {spread[k]:.0f} |")
        r = {
            "focal_g2 speed-up vs torchvision (target >= 10x)": med["focal_g2 torchvision"] / med["focal_g2 longtail"],
            "weighted_bce speed-up vs BCEWithLogitsLoss (target >= 5x)":
                med["weighted_bce torch"] / med["weighted_bce longtail"],
            "focal_g2 adapter overhead vs raw functor (target <= 15%)":
                med["focal_g2 (no alpha) longtail"] / med["focal_g2 (no alpha) raw functor"] - 1,
            "bce adapter overhead vs raw functor (target <= 15%)":
                med["bce (no weights) longtail"] / med["bce (no weights) raw functor"] - 1,
            "training step: loss share, longtail focal g3": med["loss only longtail"] / med["step longtail"],
            "training step: loss share, torchvision focal g3": med["loss only torchvision"] / med["step torchvision"],
            "training step: step time torchvision / longtail": med["step torchvision"] / med["step longtail"],
        }
        results["runs"][threads]["ratios"] = r
        print()
        for k, v in r.items():
            print(f"- {k}: " + (f"{v * 100:.1f}%" if "overhead" in k or "share" in k else f"{v:.2f}x"))
    torch.set_num_threads(1)
    print("\n## peak memory of one forward + backward (fresh process each, " +
          ("CUDA max_memory_allocated" if args.device == "cuda" else "growth of VmHWM, every large tensor mmapped")
          + f"; the logits alone are {args.rows * args.cols * 4 / 2**20:.1f} MiB)\n")
    peaks = {}
    for v in ["focal_g2 torchvision", "focal_g2 longtail", "focal_g2 longtail recompute", "weighted_bce torch",
              "weighted_bce longtail"]:
        peaks[v] = peak_memory(args.rows, args.cols, args.device, v)
        print(f"- {v}: {peaks[v] / 2**20:.1f} MiB")
    results["peak_bytes"] = peaks
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
