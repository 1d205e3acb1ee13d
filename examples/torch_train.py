#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Trains longtail-train's MLP in PyTorch with longtail's focal loss, on the embedded 698-label data.

The same experiment as `longtail-train` (cap_7.0_focal_g3): Linear(F, 512) -> ReLU -> Linear(512, L),
PyTorch's default initialisation, Adam (lr 1e-3), batch 256, a fresh shuffle every epoch, focal BCE
gamma 3 with pos_weight_c = min((N - n_c) / n_c, 7); the epoch with the best validation macro-F1 is
kept (early stopping, patience 5), per-label thresholds are tuned on validation; prints the test
micro / macro / samples F1 (threshold 0.5 and tuned) and macro-F1 by label frequency.
The loss is one line (`criterion = ...` below); `--loss torchvision` swaps in torchvision's focal
loss (no pos_weight there) for comparison.

Data: the files written by `longtail-train generate --out DIR` (XMC text + labels.tsv):
  build/examples/longtail-train generate --out /tmp/embedded
  PYTHONPATH=build/python /usr/bin/python3 examples/torch_train.py --data-dir /tmp/embedded
"""
import argparse
import os
import sys
import time

import torch

import longtail


def read_xmc_text(path):
    """(features, labels) as dense float32 tensors from an XMC text file: header `N F L`, then rows
    `l1,l2,... f:v f:v ...` (0-based; a row without labels starts with a space)."""
    with open(path, encoding="utf-8") as f:
        n, num_features, num_labels = (int(t) for t in f.readline().split())
        feat_idx, feat_val, label_idx = [[], []], [], [[], []]
        rows = 0
        for line in f:
            line = line.rstrip("\n")
            head, _, rest = line.partition(" ") if not line.startswith(" ") else ("", "", line[1:])
            if ":" in head:  # no labels, features start the line
                head, rest = "", line
            for lab in filter(None, head.split(",")):
                label_idx[0].append(rows)
                label_idx[1].append(int(lab))
            for tok in rest.split():
                i, v = tok.split(":")
                feat_idx[0].append(rows)
                feat_idx[1].append(int(i))
                feat_val.append(float(v))
            rows += 1
    if rows != n:
        raise ValueError(f"{path}: header says {n} rows, found {rows}")
    x = torch.sparse_coo_tensor(feat_idx, torch.tensor(feat_val), (n, num_features)).to_dense()
    y = torch.sparse_coo_tensor(label_idx, torch.ones(len(label_idx[0])), (n, num_labels)).to_dense()
    return x, y


def predict(model, x, batch=1024):
    with torch.no_grad():
        return torch.cat([torch.sigmoid(model(x[i:i + batch])) for i in range(0, x.shape[0], batch)])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True, help="output of `longtail-train generate --out DIR`")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--patience", type=int, default=5, help="epochs without a better validation macro-F1; 0 = never")
    ap.add_argument("--gamma", type=float, default=3.0)
    ap.add_argument("--cap", type=float, default=7.0)
    ap.add_argument("--loss", choices=["longtail", "torchvision"], default="longtail")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    t0 = time.perf_counter()
    x_train, y_train = read_xmc_text(os.path.join(args.data_dir, "train.txt"))
    x_val, y_val = read_xmc_text(os.path.join(args.data_dir, "validation.txt"))
    x_test, y_test = read_xmc_text(os.path.join(args.data_dir, "test.txt"))
    n, num_features = x_train.shape
    num_labels = y_train.shape[1]
    print(f"data: {n} / {x_val.shape[0]} / {x_test.shape[0]} rows, {num_features} features, {num_labels} labels "
          f"({time.perf_counter() - t0:.1f} s)")

    counts = longtail.label_counts(y_train)
    pos_weight = longtail.class_weights(counts, n, "pos_neg_ratio", cap=args.cap)
    if args.loss == "longtail":
        # The one line: nn.BCEWithLogitsLoss(pos_weight=pos_weight) -> longtail's focal loss.
        criterion = longtail.FocalBCEWithLogitsLoss(args.gamma, pos_weight=pos_weight)
    else:
        import torchvision

        def criterion(logits, targets):
            return torchvision.ops.sigmoid_focal_loss(logits, targets, alpha=-1, gamma=args.gamma, reduction="mean")

    model = torch.nn.Sequential(torch.nn.Linear(num_features, 512), torch.nn.ReLU(), torch.nn.Linear(512, num_labels))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_state, since_best = -1.0, None, 0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        order = torch.randperm(n)
        total = 0.0
        for i in range(0, n, 256):
            idx = order[i:i + 256]
            opt.zero_grad(set_to_none=True)
            loss = criterion(model(x_train[idx]), y_train[idx])
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()
        seconds = time.perf_counter() - t0
        val_f1 = longtail.metrics.f1_scores(predict(model, x_val), y_val, 0.5)["macro"]["f1"]
        print(f"epoch {epoch}: loss {total / n:.5f}, validation macro-F1 {val_f1:.4f}, {seconds:.2f} s", flush=True)
        if val_f1 > best:
            best, since_best = val_f1, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            since_best += 1
            if args.patience and since_best >= args.patience:
                break
    model.load_state_dict(best_state)

    thresholds = longtail.metrics.tune_thresholds(predict(model, x_val), y_val)
    p_test = predict(model, x_test)
    print(f"test ({args.loss} focal gamma {args.gamma}"
          + (f", pos_weight cap {args.cap}" if args.loss == "longtail" else "") + "):")
    for name, thr in [("threshold 0.5", 0.5), ("tuned thresholds", thresholds)]:
        r = longtail.metrics.f1_scores(p_test, y_test, thr)
        buckets = longtail.metrics.frequency_bucket_f1(r["label_f1"], counts)
        print(f"  {name:16s} micro-F1 {r['micro']['f1']:.3f}  macro-F1 {r['macro']['f1']:.3f}  samples-F1 "
              f"{r['samples']['f1']:.3f}  |  " + "  ".join(f"{b['name']} ({b['labels']}) {b['macro_f1']:.3f}"
                                                       for b in buckets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
