#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The PyTorch side of longtail-train's Delicious comparison: the same MLP, data, optimiser and loss.

Same as `longtail-train --arff ... --validation-fraction 0 --patience 0 --epochs E`:
  - data: Mulan Delicious, official split (train ARFF for training, test ARFF for the metrics),
    read from the ARFF files by this script (sparse rows "{i v,...}"; labels = the last L
    attributes, L from the Mulan XML);
  - model: Linear(F, 512) -> ReLU (-> Dropout) -> Linear(512, L), PyTorch's default initialisation;
  - optimiser: Adam(lr 1e-3, betas 0.9/0.999, eps 1e-8, no weight decay), batch 256, a fresh
    shuffle every epoch, no early stopping;
  - loss: focal BCE gamma 3 with pos_weight_c = min((N - n_c) / n_c, 7) on the positive term,
    mean over batch x labels (longtail's FocalBCE with capped pos_weight, written in torch ops);
  - one thread: torch.set_num_threads(1).
Reports seconds per epoch (wall and process CPU time) and test micro / macro / samples F1 at
threshold 0.5 on the probabilities (scikit-learn's conventions, zero_division 0).

  /usr/bin/python3 bench/torch_trainer.py --data-dir ../shared/data/delicious
Debian's PyTorch takes its BLAS from libblas.so.3: install libopenblas0-pthread, or it falls
back to the reference BLAS and the timing means nothing (the script prints which library it is).
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np
import torch


def read_mulan_xml_labels(path):
    with open(path, encoding="utf-8") as f:
        return len(re.findall(r"<label\b", f.read()))


def read_sparse_arff(path, num_labels):
    """Returns (features csr-like dense float32 array, labels float32 array)."""
    attributes = 0
    rows_f, rows_l = [], []
    in_data = False
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("%"):
                continue
            if not in_data:
                low = line.lower()
                if low.startswith("@attribute"):
                    attributes += 1
                elif low.startswith("@data"):
                    in_data = True
                    num_features = attributes - num_labels
                continue
            if not line.startswith("{"):
                raise ValueError(f"{path}: dense ARFF rows are not supported by this script")
            feats, labs = [], []
            body = line[1:-1].strip()
            if body:
                for item in body.split(","):
                    idx, val = item.split()
                    idx = int(idx)
                    if idx < num_features:
                        feats.append((idx, float(val)))
                    elif float(val) != 0:
                        labs.append(idx - num_features)
            rows_f.append(feats)
            rows_l.append(labs)
    x = np.zeros((len(rows_f), num_features), dtype=np.float32)
    y = np.zeros((len(rows_l), num_labels), dtype=np.float32)
    for i, (fs, ls) in enumerate(zip(rows_f, rows_l)):
        for j, v in fs:
            x[i, j] = v
        y[i, ls] = 1.0
    return x, y


def focal_pos_weight_loss(logits, targets, pos_weight, gamma):
    """mean( pw*y*(1-p)^g*softplus(-x) + (1-y)*p^g*softplus(x) ), stable in log space."""
    log_p = torch.nn.functional.logsigmoid(logits)       # log p = -softplus(-x)
    log_1mp = torch.nn.functional.logsigmoid(-logits)    # log(1-p) = -softplus(x)
    pos = pos_weight * targets * torch.exp(gamma * log_1mp) * (-log_p)
    neg = (1 - targets) * torch.exp(gamma * log_p) * (-log_1mp)
    return (pos + neg).mean()


def f1_scores(probs, y, threshold=0.5):
    pred = probs > threshold
    truth = y > 0.5
    tp = (pred & truth).sum(0).astype(np.float64)
    fp = (pred & ~truth).sum(0).astype(np.float64)
    fn = (~pred & truth).sum(0).astype(np.float64)
    def ratio(a, b):
        return np.where(b > 0, a / np.maximum(b, 1e-300), 0.0)
    micro = 2 * tp.sum() / max(2 * tp.sum() + fp.sum() + fn.sum(), 1e-300)
    macro = ratio(2 * tp, 2 * tp + fp + fn).mean()
    rtp = (pred & truth).sum(1)
    rden = 2 * rtp + (pred & ~truth).sum(1) + (~pred & truth).sum(1)
    samples = ratio(2 * rtp, rden).mean()
    return float(micro), float(macro), float(samples)


def blas_library():
    try:
        with open("/proc/self/maps") as f:
            libs = sorted({l.split()[-1] for l in f if "blas" in l.lower() and ".so" in l})
        return ", ".join(os.path.realpath(l) for l in libs) or "unknown"
    except OSError:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "delicious"))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--cap", type=float, default=7.0)
    ap.add_argument("--gamma", type=float, default=3.0)
    ap.add_argument("--dropout", type=float, default=0.0, help="dropout after the ReLU (longtail-train --dropout)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--input", choices=["dense", "sparse"], default="dense",
                    help="dense: X as a dense tensor (the usual way); sparse: torch.sparse.mm for the first layer")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    d = args.data_dir
    L = read_mulan_xml_labels(os.path.join(d, "delicious.xml"))
    t0 = time.perf_counter()
    x_train, y_train = read_sparse_arff(os.path.join(d, "delicious-train.arff"), L)
    x_test, y_test = read_sparse_arff(os.path.join(d, "delicious-test.arff"), L)
    print(f"data: train {x_train.shape[0]} x {x_train.shape[1]} features, {L} labels; test {x_test.shape[0]} rows "
          f"({time.perf_counter() - t0:.1f} s)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), BLAS: {blas_library()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    n, F = x_train.shape
    counts = y_train.sum(0)
    pos_weight = torch.from_numpy(np.minimum((n - np.maximum(counts, 1)) / np.maximum(counts, 1), args.cap).astype(np.float32))
    model = torch.nn.Sequential(torch.nn.Linear(F, args.hidden), torch.nn.ReLU(), torch.nn.Dropout(args.dropout),
                                torch.nn.Linear(args.hidden, L))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    X = torch.from_numpy(x_train)
    Y = torch.from_numpy(y_train)
    Xs = X.to_sparse_csr() if args.input == "sparse" else None
    wall, cpu = [], []
    for epoch in range(1, args.epochs + 1):
        order = torch.from_numpy(rng.permutation(n))
        tw, tc = time.perf_counter(), time.process_time()
        total = 0.0
        model.train()
        for start in range(0, n, args.batch):
            idx = order[start:start + args.batch]
            yb = Y[idx]
            if Xs is None:
                logits = model(X[idx])
            else:
                lin1 = model[0]
                xb = torch.index_select(X, 0, idx).to_sparse_csr()
                h = torch.relu(torch.sparse.addmm(lin1.bias.expand(len(idx), -1), xb, lin1.weight.t()))
                logits = model[3](model[2](h))
            loss = focal_pos_weight_loss(logits, yb, pos_weight, args.gamma)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        wall.append(time.perf_counter() - tw)
        cpu.append(time.process_time() - tc)
        print(f"epoch {epoch:3d}/{args.epochs}  loss {total / n:.5f}  {wall[-1]:.3f} s ({cpu[-1]:.3f} s CPU)", flush=True)
    model.eval()
    with torch.no_grad():
        probs = torch.sigmoid(model(torch.from_numpy(x_test))).numpy()
    micro, macro, samples = f1_scores(probs, y_test)
    # The first epoch pays one-time costs (allocator warm-up); report the median of the rest too.
    steady_wall = float(np.median(wall[1:])) if len(wall) > 1 else wall[0]
    steady_cpu = float(np.median(cpu[1:])) if len(cpu) > 1 else cpu[0]
    print(f"\nseconds per epoch: mean {np.mean(wall):.3f} wall / {np.mean(cpu):.3f} CPU; "
          f"median after the first {steady_wall:.3f} wall / {steady_cpu:.3f} CPU")
    print(f"test F1 at 0.5: micro {micro:.4f}  macro {macro:.4f}  samples {samples:.4f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"epochs": args.epochs, "seconds_per_epoch": float(np.mean(wall)),
                       "cpu_seconds_per_epoch": float(np.mean(cpu)), "median_seconds_per_epoch": steady_wall,
                       "median_cpu_seconds_per_epoch": steady_cpu, "micro_f1": micro, "macro_f1": macro,
                       "samples_f1": samples, "input": args.input, "threads": args.threads}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
