#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Side-by-side CPU timings: PyTorch (+ autograd) against longtail's fused forward_backward.

Runs, in one invocation on the same machine:
  1. PyTorch on the shapes of bench/bench_cpu_losses.cpp (rows x 698, logits ~ N(0, 3), ~2%
     positive targets), torch.set_num_threads(t) for each thread count, forward + loss.backward()
     of the mean loss, median of --runs timed runs after --warmup untimed ones:
       weighted_bce  F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw)
       focal_g2      (torchvision.ops.sigmoid_focal_loss(x, y, alpha=-1, gamma=2, 'none') * w).mean()
       focal_g2.5    the same with gamma=2.5
       asl_0_4_0.05  ASL (Ridnik et al. 2021, gamma+ 0, gamma- 4, clip 0.05) in plain torch ops
       roofline      torch.add(x, y, out=g): the same bytes moved, no arithmetic
  2. the C++ benchmark binary with --benchmark_format=json and --repetitions repetitions;
group by group (shape, dtype, threads: C++ then PyTorch, seconds apart), and prints one table. Speed-up = PyTorch ms / longtail ms. "% roofline" = longtail elements/s
as a percentage of the C++ roofline reference's elements/s (same shape, types and threads).
By default the process runs with glibc's mmap off (--malloc reuse): PyTorch's autograd temporaries
then reuse heap pages, as they do in a training loop's steady state, instead of faulting in fresh
pages every step (costly on a VM; --malloc default measures that case).
"spread" = (75th - 25th percentile) / median of the timed runs: the noise of a shared machine.

Run with Debian's python (it has python3-torch and torchvision): /usr/bin/python3 bench/compare_pytorch.py

GPU: --device cuda hands every other argument to bench/compare_pytorch_cuda.py (PyTorch eager and
torch.compile on the GPU beside longtail_cuda_bench's JSON; see its --help).
"""

import argparse
import ctypes
import datetime
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

COLS = 698
SHAPES = (256, 4096, 16384)
THREADS = (1, 2)
DTYPES = ("f32", "f64")
LOSSES = ("weighted_bce", "focal_g2", "focal_g2.5", "asl_0_4_0.05")
ROOFLINE = "roofline"
POSITIVE_RATE = 0.02
LOGIT_STDDEV = 3.0

# The targets of issue 2 (float32, 4096x698, 1 thread): (loss, minimum speed-up over PyTorch).
TARGET_SHAPE, TARGET_THREADS, TARGET_ROOFLINE_PCT = 4096, 1, 25.0
TARGET_SPEEDUPS = {"focal_g2": 12.0, "weighted_bce": 6.0}

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_NAME = re.compile(
    r"^(?P<kind>fused|roofline)/(?P<loss>[^/]+)/(?P<dtype>f32|f64)/y:(?P<ytype>f32|f64|u8)"
    r"/(?P<rows>\d+)x(?P<cols>\d+)/threads:(?P<threads>\d+)(/real_time)?$")
TIME_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1e3}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                   help="cuda: run bench/compare_pytorch_cuda.py with the other arguments instead")
    p.add_argument("bench", nargs="?", help="path of bench_cpu_losses (default: newest build*/bench/bench_cpu_losses)")
    p.add_argument("--shapes", type=int, nargs="+", default=list(SHAPES), help="row counts (cols are 698)")
    p.add_argument("--threads", type=int, nargs="+", default=list(THREADS))
    p.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=DTYPES)
    p.add_argument("--runs", type=int, default=11, help="timed PyTorch runs per case (median)")
    p.add_argument("--warmup", type=int, default=3, help="untimed PyTorch runs first (at least 1; fewer once --budget/2 seconds are spent)")
    p.add_argument("--budget", type=float, default=10.0,
                   help="seconds of timed PyTorch runs per case; past it, stop after at least 3 runs")
    p.add_argument("--repetitions", type=int, default=5, help="C++ --benchmark_repetitions (median)")
    p.add_argument("--min-time", type=float, default=0.2, help="C++ --benchmark_min_time per repetition, seconds")
    p.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                   help="wall: wall-clock times everywhere; cpu: process CPU time for the 1-thread rows (robust to "
                        "time-slicing on a loaded machine), wall-clock for more threads")
    p.add_argument("--malloc", choices=("reuse", "default"), default="reuse",
                   help="reuse (default): glibc's mmap off (MALLOC_MMAP_MAX_=0, no trimming), so PyTorch's autograd "
                        "temporaries reuse heap pages, as in a training loop's steady state; default: glibc as is, "
                        "where temporaries above the mmap threshold are fresh mappings that fault in every step")
    p.add_argument("--no-u8", action="store_true", help="leave out the uint8-target rows")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown (for README.md)")
    p.add_argument("--json-out", help="also write all measurements to this JSON file")
    return p.parse_args()


# ---- machine / library description ---------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def active_blas():
    """The BLAS shared library torch has loaded (Debian's torch links the generic libblas.so.3,
    which update-alternatives points at an implementation), resolved to its real file, with
    OpenBLAS's own configuration string when it is OpenBLAS."""
    import torch
    torch.mm(torch.ones(4, 4), torch.ones(4, 4))  # make sure BLAS is in use, not only mapped
    paths = []
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            name = os.path.basename(path)
            if ("blas" in name or "mkl" in name) and path not in paths:
                paths.append(path)
    if not paths:
        return "no BLAS library mapped (torch.__config__: %s)" % blas_info_from_config()
    config = None
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            get_config = lib.openblas_get_config
            get_config.restype = ctypes.c_char_p
            config = "%s, %d threads" % (get_config().decode(), lib.openblas_get_num_threads())
            break
        except (OSError, AttributeError):
            continue
    files = ", ".join(p if os.path.realpath(p) == p else "%s -> %s" % (p, os.path.realpath(p)) for p in paths)
    return "%s [%s] (torch.__config__: %s)" % (config or "not OpenBLAS", files, blas_info_from_config())


def blas_info_from_config():
    import torch
    m = re.search(r"BLAS_INFO=([^,\s]+)", torch.__config__.show())
    return "BLAS_INFO=" + (m.group(1) if m else "?")


# ---- PyTorch ------------------------------------------------------------------------------------

def asl_loss(x, y, gamma_pos=0.0, gamma_neg=4.0, clip=0.05, eps=1e-8):
    """Asymmetric loss as the paper's reference code writes it (sigmoid, shifted negative
    probability, clamped logs, focusing weights), mean over elements, every op under autograd."""
    import torch
    p = torch.sigmoid(x)
    p_neg = (1 - p + clip).clamp(max=1)  # 1 - p_m, p_m = max(p - clip, 0)
    loss_pos = y * torch.log(p.clamp(min=eps))
    loss_neg = (1 - y) * torch.log(p_neg.clamp(min=eps))
    pt = p * y + p_neg * (1 - y)  # p_t: p for positives, 1 - p_m for negatives
    focus = torch.pow(1 - pt, gamma_pos * y + gamma_neg * (1 - y))
    return -((loss_pos + loss_neg) * focus).mean()


def pytorch_case(loss, x, y, w, pw):
    import torch.nn.functional as F
    from torchvision.ops import sigmoid_focal_loss
    if loss == "weighted_bce":
        return lambda: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw)
    if loss == "focal_g2":
        return lambda: (sigmoid_focal_loss(x, y, alpha=-1, gamma=2.0, reduction="none") * w).mean()
    if loss == "focal_g2.5":
        return lambda: (sigmoid_focal_loss(x, y, alpha=-1, gamma=2.5, reduction="none") * w).mean()
    if loss == "asl_0_4_0.05":
        return lambda: asl_loss(x, y)
    raise ValueError(loss)


def percentile(sorted_values, q):
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarise(times_ms):
    s = sorted(times_ms)
    med = statistics.median(s)
    spread = (percentile(s, 0.75) - percentile(s, 0.25)) / med * 100 if med > 0 else 0.0
    return {"median_ms": med, "spread_pct": spread, "n": len(s), "min_ms": s[0], "max_ms": s[-1]}


def run_pytorch(args, rows, dtype, threads):
    """PyTorch timings of one (shape, dtype, threads) group: {key: summary}."""
    import torch
    results = {}
    tdtype = torch.float32 if dtype == "f32" else torch.float64
    gen = torch.Generator().manual_seed(2024)
    x0 = torch.randn(rows, COLS, generator=gen, dtype=torch.float64) * LOGIT_STDDEV
    y = (torch.rand(rows, COLS, generator=gen, dtype=torch.float64) < POSITIVE_RATE).to(tdtype)
    x = x0.to(tdtype).requires_grad_(True)
    w = torch.empty(COLS, dtype=tdtype).uniform_(0.5, 5.0, generator=gen)
    pw = torch.empty(COLS, dtype=tdtype).uniform_(1.0, 20.0, generator=gen)
    g = torch.empty_like(x0, dtype=tdtype)
    torch.set_num_threads(threads)
    for loss in (ROOFLINE,) + LOSSES:
        if loss == ROOFLINE:
            xd = x.detach()

            def step():
                torch.add(xd, y, out=g)
        else:
            forward = pytorch_case(loss, x, y, w, pw)

            def step(forward=forward):
                x.grad = None  # zero_grad(set_to_none=True): autograd allocates the gradient
                forward().backward()
        warm_start = time.perf_counter()
        for i in range(args.warmup):  # at least one warm-up run; no more once half the budget is spent
            if i > 0 and time.perf_counter() - warm_start > args.budget / 2:
                break
            step()
        wall, cpu, started = [], [], time.perf_counter()
        while len(wall) < args.runs and (len(wall) < 3 or time.perf_counter() - started < args.budget):
            t0, c0 = time.perf_counter(), time.process_time()
            step()
            c1, t1 = time.process_time(), time.perf_counter()
            wall.append((t1 - t0) * 1e3)
            cpu.append((c1 - c0) * 1e3)
        key = (rows, loss, dtype, dtype, threads)
        results[key] = {"wall": summarise(wall), "cpu": summarise(cpu)}
        print("  pytorch  %-13s %s %5dx%d threads %d: %9.3f ms wall, %9.3f ms CPU" % (
            loss, dtype, rows, COLS, threads, results[key]["wall"]["median_ms"], results[key]["cpu"]["median_ms"]),
            file=sys.stderr)
    return results


# ---- C++ ----------------------------------------------------------------------------------------

def find_bench(path):
    if path:
        if not os.access(path, os.X_OK):
            sys.exit("compare_pytorch.py: benchmark binary %r does not exist or is not executable" % path)
        return path
    candidates = [p for pattern in ("build*/bench/bench_cpu_losses", "build*/*/bench/bench_cpu_losses")
                  for p in glob.glob(os.path.join(REPO_ROOT, pattern)) if os.access(p, os.X_OK)]
    if not candidates:
        sys.exit("compare_pytorch.py: no build*/bench/bench_cpu_losses under %s; build it first:\n"
                 "  cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j2 "
                 "--target bench_cpu_losses\nor pass its path" % REPO_ROOT)
    return max(candidates, key=os.path.getmtime)


def run_cpp(args, bench, rows, dtype, threads):
    """The C++ benchmarks of one (shape, dtype, threads) group (the u8-target variants go with f32),
    repetitions in random order so that load drift hits the roofline and the losses alike."""
    ytypes = dtype + ("" if args.no_u8 or dtype != "f32" else "|u8")
    name_filter = r"^(fused|roofline)/[^/]+/%s/y:(%s)/%dx%d/threads:%d(/|$)" % (dtype, ytypes, rows, COLS, threads)
    cmd = [bench, "--benchmark_format=json", "--benchmark_repetitions=%d" % args.repetitions,
           "--benchmark_min_time=%g" % args.min_time, "--benchmark_enable_random_interleaving=true",
           "--benchmark_filter=" + name_filter]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit("compare_pytorch.py: %s failed (exit %d):\n%s" % (bench, proc.returncode, proc.stderr))
    report = json.loads(proc.stdout)
    per_run, medians = {}, {}
    for b in report["benchmarks"]:
        m = BENCH_NAME.match(b.get("run_name", b["name"]))
        if not m or int(m["cols"]) != COLS or b.get("error_occurred"):
            continue
        key = (int(m["rows"]), ROOFLINE if m["kind"] == "roofline" else m["loss"], m["dtype"], m["ytype"],
               int(m["threads"]))
        ms = {"wall": b["real_time"] * TIME_UNIT_MS[b["time_unit"]], "cpu": b["cpu_time"] * TIME_UNIT_MS[b["time_unit"]]}
        if b.get("run_type", "iteration") == "iteration":
            per_run.setdefault(key, []).append(ms)
        elif b.get("aggregate_name") == "median":
            medians[key] = ms
    results = {key: {clock: summarise([m[clock] for m in runs]) for clock in ("wall", "cpu")}
               for key, runs in per_run.items()}
    for key, ms in medians.items():  # aggregates only (no single runs reported): take its median
        results.setdefault(key, {clock: {"median_ms": ms[clock], "spread_pct": float("nan"), "n": args.repetitions}
                                 for clock in ("wall", "cpu")})
    for key, r in sorted(results.items(), key=lambda kv: (kv[0][1] != ROOFLINE, kv[0][1], kv[0][3])):
        print("  longtail %-13s %s y:%s %5dx%d threads %d: %9.3f ms wall, %9.3f ms CPU (main thread)" % (
            key[1], key[2], key[3], key[0], COLS, key[4], r["wall"]["median_ms"], r["cpu"]["median_ms"]), file=sys.stderr)
    return results, report.get("context", {}), cmd


# ---- the table ----------------------------------------------------------------------------------

def build_rows(args, torch_results, cpp_results):
    rows = []
    ytypes = [None] + ([] if args.no_u8 else ["u8"])
    for shape in args.shapes:
        for loss in (ROOFLINE,) + LOSSES:
            for dtype in args.dtypes:
                for yt in ytypes:
                    ytype = yt or dtype
                    for threads in args.threads:
                        key = (shape, loss, dtype, ytype, threads)
                        if key not in cpp_results:
                            continue
                        # CPU time only where it measures all the work: one thread (the C++ figure is
                        # the main thread's CPU time, blind to OpenMP workers).
                        clock = "cpu" if args.clock == "cpu" and threads == 1 else "wall"
                        cpp = cpp_results[key][clock]
                        torch_r = torch_results[key][clock] if key in torch_results else None
                        roof_key = (shape, ROOFLINE, dtype, ytype, threads)
                        roof = cpp_results[roof_key][clock] if roof_key in cpp_results else None
                        rows.append({
                            "shape": "%dx%d" % (shape, COLS), "rows": shape, "loss": loss, "dtype": dtype,
                            "ytype": ytype, "threads": threads, "clock": clock,
                            "pytorch_ms": torch_r["median_ms"] if torch_r else None,
                            "pytorch_spread_pct": torch_r["spread_pct"] if torch_r else None,
                            "longtail_ms": cpp["median_ms"], "longtail_spread_pct": cpp["spread_pct"],
                            "speedup": torch_r["median_ms"] / cpp["median_ms"] if torch_r else None,
                            # same element count: elements/s ratio = inverse time ratio
                            "roofline_pct": roof["median_ms"] / cpp["median_ms"] * 100 if roof else None,
                            "gelem_per_s": shape * COLS / (cpp["median_ms"] * 1e-3) / 1e9,
                        })
    return rows


HEADER = ["shape", "loss", "dtype", "targets", "threads", "clock", "PyTorch ms", "±%", "longtail ms", "±%",
          "speed-up", "% roofline", "Gelem/s"]


def fmt_row(r):
    def num(v, f):
        return "—" if v is None or v != v else f % v
    return [r["shape"], "roofline (x+y)" if r["loss"] == ROOFLINE else r["loss"], r["dtype"], r["ytype"],
            str(r["threads"]), r["clock"], num(r["pytorch_ms"], "%.3f"), num(r["pytorch_spread_pct"], "%.0f"),
            num(r["longtail_ms"], "%.3f"), num(r["longtail_spread_pct"], "%.0f"), num(r["speedup"], "%.1fx"),
            num(r["roofline_pct"], "%.0f%%"), num(r["gelem_per_s"], "%.2f")]


def print_table(rows, markdown):
    cells = [fmt_row(r) for r in rows]
    if markdown:
        print("| " + " | ".join(HEADER) + " |")
        print("|" + "|".join("---" if i < 6 else "---:" for i in range(len(HEADER))) + "|")
        for c in cells:
            print("| " + " | ".join(c) + " |")
        return
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(HEADER)]
    line = lambda c: "  ".join(v.ljust(w) if i < 6 else v.rjust(w) for i, (v, w) in enumerate(zip(c, widths)))
    print(line(HEADER))
    print("  ".join("-" * w for w in widths))
    prev = None
    for r, c in zip(rows, cells):
        if prev is not None and r["shape"] != prev:
            print()
        prev = r["shape"]
        print(line(c))


def check_targets(rows, markdown):
    lines = []
    for loss, minimum in TARGET_SPEEDUPS.items():
        r = next((r for r in rows if r["loss"] == loss and r["dtype"] == "f32" and r["ytype"] == "f32"
                  and r["rows"] == TARGET_SHAPE and r["threads"] == TARGET_THREADS), None)
        if r is None or r["speedup"] is None:
            continue
        ok_speed = r["speedup"] >= minimum
        ok_roof = r["roofline_pct"] is not None and r["roofline_pct"] >= TARGET_ROOFLINE_PCT
        lines.append("%s f32 %dx%d 1 thread: speed-up %.1fx (target >= %gx: %s), %.0f%% of roofline "
                     "(target >= %g%%: %s)" % (loss, TARGET_SHAPE, COLS, r["speedup"], minimum,
                                                "met" if ok_speed else "NOT met", r["roofline_pct"] or 0,
                                                TARGET_ROOFLINE_PCT, "met" if ok_roof else "NOT met"))
    if lines:
        print()
        print("Targets (issue 2):")
        for l in lines:
            print(("- " if markdown else "  ") + l)


MALLOC_REUSE_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": str(1 << 40)}


def main():
    device = argparse.ArgumentParser(add_help=False)
    device.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    chosen, rest = device.parse_known_args()
    if chosen.device == "cuda":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import compare_pytorch_cuda
        sys.exit(compare_pytorch_cuda.main(rest))
    args = parse_args()
    # glibc reads these once at start-up: start again with them set (or unset).
    if args.malloc == "reuse" and any(os.environ.get(k) != v for k, v in MALLOC_REUSE_ENV.items()):
        os.execve(sys.executable, [sys.executable] + sys.argv, {**os.environ, **MALLOC_REUSE_ENV})
    if args.malloc == "default" and any(k in os.environ for k in MALLOC_REUSE_ENV):
        os.execve(sys.executable, [sys.executable] + sys.argv,
                  {k: v for k, v in os.environ.items() if k not in MALLOC_REUSE_ENV})
    bench = find_bench(args.bench)
    import torch
    import torchvision

    when = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load = os.getloadavg()
    info = [
        "date: %s" % when,
        "machine: %s, %d logical CPUs, load average %.2f %.2f %.2f at start" % (cpu_model(), os.cpu_count(), *load),
        "PyTorch %s, torchvision %s, BLAS: %s" % (torch.__version__, torchvision.__version__, active_blas()),
        "longtail: %s" % os.path.relpath(bench, REPO_ROOT),
        "glibc malloc: %s" % ("heap reuse (%s)" % " ".join("%s=%s" % kv for kv in MALLOC_REUSE_ENV.items())
                              if args.malloc == "reuse" else "default (allocations above the mmap threshold are fresh mappings)"),
        "PyTorch: median of %d runs (at least 3 within %gs) after %d warm-up; longtail: median of %d repetitions "
        "(min time %gs each)" % (args.runs, args.budget, args.warmup, args.repetitions, args.min_time),
    ]
    print("\n".join(info), file=sys.stderr)

    # Group by group (shape, dtype, threads): C++ then PyTorch, so that each pair of figures is
    # measured within seconds of each other on a machine whose load drifts.
    cpp_results, torch_results, context, cmd = {}, {}, {}, None
    for rows in args.shapes:
        for dtype in args.dtypes:
            for threads in args.threads:
                r, ctx, c = run_cpp(args, bench, rows, dtype, threads)
                cpp_results.update(r)
                context, cmd = context or ctx, cmd or c
                torch_results.update(run_pytorch(args, rows, dtype, threads))
    end_load = os.getloadavg()

    rows = build_rows(args, torch_results, cpp_results)
    if not rows:
        sys.exit("compare_pytorch.py: the benchmark reported no runs for the selected shapes/threads/dtypes")
    caches = ", ".join("L%d%s %d KiB" % (c["level"], "d" if c["type"] == "Data" else "i" if c["type"] == "Instruction" else "",
                                          c["size"] // 1024) for c in context.get("caches", []))
    info.append("C++ context: %s CPUs at %s MHz, caches %s, library_build_type %s" % (
        context.get("num_cpus"), context.get("mhz_per_cpu"), caches or "?", context.get("library_build_type", "?")))
    info.append("load average at end %.2f %.2f %.2f" % end_load)
    print()
    if args.markdown:
        print("\n".join("- " + i for i in info))
        print()
    else:
        print("\n".join(info))
        print()
    print_table(rows, args.markdown)
    check_targets(rows, args.markdown)
    print()
    print("clock: wall = wall-clock time; cpu = CPU time of the process (PyTorch) / of the benchmark thread "
          "(longtail), used for 1-thread rows with --clock cpu.")
    print("speed-up = PyTorch ms / longtail ms; % roofline = longtail elements/s / C++ roofline (x+y, same bytes) "
          "elements/s; ±% = interquartile range / median of the timed runs.")

    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"info": info, "cpp_command_first_group": cmd, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
