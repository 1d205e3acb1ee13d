#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Throughput of `longtail-train predict --text` (documents per second, one core).

The loop of examples/trainer/README.md "Predict on raw text": the embedded data set written as
labelled text (`generate --format text`), the default model trained on it through `--tsv`, then
`predict --text` on the test split's documents (repeated --copies times, so that a run is long
enough to time). Each run is pinned to one core (taskset) with --threads 1 and writes its JSON lines
to /dev/null; the figure is the median over --runs runs of documents / wall seconds (the whole
process: start, checkpoint load, reading, featurizing, the model, formatting the JSON).

    /usr/bin/python3 bench/predict_text.py [--train BIN] [--work DIR] [--runs 7] [--copies 10]

Standard library only. The data set and the model are made once and kept in --work.
"""
import argparse
import glob
import os
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
    pin = ["taskset", "-c", a.cpu] if shutil.which("taskset") else []
    cmd = pin + [train, "predict", "--checkpoint", model, "--text", docs, "--threads", "1"]
    print("+ " + " ".join(cmd) + " > /dev/null", file=sys.stderr)
    rates = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        rates.append(n / (time.perf_counter() - t0))
    load = os.getloadavg()[0]
    print(f"predict --text: {n} documents, {a.runs} runs, one core: median {statistics.median(rates):.0f} docs/s "
          f"(min {min(rates):.0f}, max {max(rates):.0f}; load average {load:.1f}; {time.strftime('%Y-%m-%d %H:%M')})")


if __name__ == "__main__":
    main()
