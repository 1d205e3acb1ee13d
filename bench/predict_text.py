#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Throughput of `longtail-train predict --text` (documents per second, one core).

The loop of examples/trainer/README.md "Predict on raw text": the embedded data set written as
labelled text (`generate --format text`), the default model trained on it through `--tsv`, then
`predict --text` on the test split's documents (repeated --copies times, so that a run is long
enough to time). Each run is pinned to one core (taskset) with --threads 1 and writes its JSON lines
to /dev/null; the figures are medians over --runs runs of the whole process (start, checkpoint load, reading,
featurizing, the model, formatting the JSON), in wall and in CPU seconds, and of a one-document
run (the start-up), whose difference is the throughput after start-up.

    /usr/bin/python3 bench/predict_text.py [--train BIN] [--work DIR] [--runs 7] [--copies 10]

Standard library only. The data set and the model are made once and kept in --work.
"""
import argparse
import glob
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time


def newest_binary():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = glob.glob(os.path.join(root, "build*", "examples", "longtail-train"))
    if not found:
        sys.exit("no build*/examples/longtail-train: build the target or pass --train")
    return max(found, key=os.path.getmtime)


def run(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr)
    subprocess.run(cmd, check=True, **kw)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default=None, help="the longtail-train binary (default: newest build*/)")
    ap.add_argument("--work", default="predict-text-bench", help="data set, model and documents (kept)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--copies", type=int, default=10, help="times the test documents are repeated")
    ap.add_argument("--cpu", default="0", help="taskset core list")
    a = ap.parse_args()
    train = a.train or newest_binary()
    os.makedirs(a.work, exist_ok=True)
    data = os.path.join(a.work, "text")
    model = os.path.join(a.work, "model.ltck")
    docs = os.path.join(a.work, "docs.txt")
    if not os.path.exists(os.path.join(data, "test.tsv")):
        run([train, "generate", "--out", data, "--format", "text"])
    if not os.path.exists(model):
        run([train, "--tsv", os.path.join(data, "train.tsv"), "--tsv-validation",
             os.path.join(data, "validation.tsv"), "--tsv-test", os.path.join(data, "test.tsv"),
             "--checkpoint", model, "--progress", "none"], stdout=subprocess.DEVNULL)
    with open(os.path.join(data, "test.tsv"), encoding="utf-8") as f:
        texts = [line.rstrip("\n").split("\t", 1)[1] for line in f]
    with open(docs, "w", encoding="utf-8") as f:
        for _ in range(a.copies):
            f.write("\n".join(texts) + "\n")
    n = len(texts) * a.copies
    one = os.path.join(a.work, "one-doc.txt")
    with open(one, "w", encoding="utf-8") as f:
        f.write(texts[0] + "\n")
    pin = ["taskset", "-c", a.cpu] if shutil.which("taskset") else []

    def timed(path):
        """(wall seconds, CPU seconds of the child: user + system)"""
        cmd = pin + [train, "predict", "--checkpoint", model, "--text", path, "--threads", "1"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)

    print("+ " + " ".join(pin + [train, "predict", "--checkpoint", model, "--text", docs, "--threads", "1"]) +
          " > /dev/null", file=sys.stderr)
    full, single = [], []
    for _ in range(a.runs):  # interleaved, so that load drift hits both alike
        full.append(timed(docs))
        single.append(timed(one))
    med = statistics.median
    wall_n, cpu_n = med(w for w, _ in full), med(c for _, c in full)
    wall_1, cpu_1 = med(w for w, _ in single), med(c for _, c in single)
    print(f"predict --text, one core, medians of {a.runs} runs ({time.strftime('%Y-%m-%d %H:%M')}, load average "
          f"{os.getloadavg()[0]:.1f}):")
    print(f"  {n} documents, whole process: {wall_n:.2f} s wall ({n / wall_n:.0f} docs/s), "
          f"{cpu_n:.2f} s CPU ({n / cpu_n:.0f} docs per CPU second)")
    print(f"  1 document (start-up: checkpoint load, model): {wall_1:.2f} s wall, {cpu_1:.2f} s CPU")
    if wall_n > wall_1 and cpu_n > cpu_1:
        print(f"  after start-up: {(n - 1) / (wall_n - wall_1):.0f} docs/s wall, "
              f"{(n - 1) / (cpu_n - cpu_1):.0f} docs per CPU second")

if __name__ == "__main__":
    main()
