#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent difficulty check of a generated corpus (see CALIBRATION.md).

Reads the files written by longtail_train::write_splits (train.txt / validation.txt / test.txt in
the XMC text format + labels.tsv), trains a PyTorch MLP with plain BCE (and optionally a capped
pos-weight + focal configuration) and prints test micro / macro / samples F1 at threshold 0.5,
with early stopping on validation macro-F1. It is a yardstick for choosing the generator's
constants, not the project's trainer: the constants are frozen after a longtail-train run.

Usage: /usr/bin/python3 calibrate_torch.py DIR [--hidden 512] [--epochs 30] [--config bce|cap7_g3]
(Debian's python3 with python3-torch; one thread so timings do not disturb other work.)
"""
import argparse
import time

import numpy as np
import torch


def read_xmc(path):
    with open(path) as f:
        n, nf, nl = map(int, f.readline().split())
        rows, cols, vals, lrows, lcols = [], [], [], [], []
        for r in range(n):
            line = f.readline().rstrip("\n")
            parts = line.split(" ")
            start = 0
            if parts and parts[0] and ":" not in parts[0]:
                for l in parts[0].split(","):
                    lrows.append(r)
                    lcols.append(int(l))
                start = 1
            for tok in parts[start:]:
                if not tok:
                    continue
                i, v = tok.split(":")
                rows.append(r)
                cols.append(int(i))
                vals.append(float(v))
    x = torch.sparse_coo_tensor(torch.tensor([rows, cols]), torch.tensor(vals, dtype=torch.float32), (n, nf)).coalesce()
    y = torch.zeros(n, nl)
    y[torch.tensor(lrows), torch.tensor(lcols)] = 1.0
    return x.to_sparse_csr(), y


def f1_scores(y, pred):
    tp = (y * pred).sum(0)
    fp = ((1 - y) * pred).sum(0)
    fn = (y * (1 - pred)).sum(0)
    micro = 2 * tp.sum() / max(1.0, float(2 * tp.sum() + fp.sum() + fn.sum()))
    denom = 2 * tp + fp + fn
    macro = torch.where(denom > 0, 2 * tp / denom.clamp(min=1), torch.zeros_like(tp)).mean()
    rtp = (y * pred).sum(1)
    rden = y.sum(1) + pred.sum(1)
    samples = torch.where(rden > 0, 2 * rtp / rden.clamp(min=1), torch.zeros_like(rtp)).mean()
    return float(micro), float(macro), float(samples)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--config", default="bce", help="bce | capC_gG (pos_weight=min(C, neg/pos), focal gamma G)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    t0 = time.time()
    xtr, ytr = read_xmc(a.dir + "/train.txt")
    xva, yva = read_xmc(a.dir + "/validation.txt")
    xte, yte = read_xmc(a.dir + "/test.txt")
    nf, nl = xtr.shape[1], ytr.shape[1]
    print(f"read {xtr.shape[0]}/{xva.shape[0]}/{xte.shape[0]} rows, {nf} features, {nl} labels in {time.time() - t0:.1f}s")
    if a.hidden > 0:
        model = torch.nn.Sequential(torch.nn.Linear(nf, a.hidden), torch.nn.ReLU(), torch.nn.Linear(a.hidden, nl))
    else:
        model = torch.nn.Linear(nf, nl)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    pos = ytr.sum(0)
    gamma, pos_weight = 0.0, torch.ones(nl)
    if a.config != "bce":
        cap, g = a.config.split("_")
        pos_weight = torch.clamp((ytr.shape[0] - pos) / pos.clamp(min=1), max=float(cap[3:]))
        gamma = float(g[1:])

    def loss_fn(logits, y):
        logp = torch.nn.functional.logsigmoid(logits)
        log1mp = torch.nn.functional.logsigmoid(-logits)
        p = torch.sigmoid(logits)
        lp = -y * pos_weight * logp
        ln = -(1 - y) * log1mp
        if gamma > 0:
            lp = lp * (1 - p) ** gamma
            ln = ln * p ** gamma
        return (lp + ln).mean()

    def predict(x):
        with torch.no_grad():
            return torch.sigmoid(model(x))

    xtr_dense_rows = xtr.to_dense()  # small enough (rows x 5000) and lets us slice batches
    best, best_state, bad = -1.0, None, 0
    n = xtr.shape[0]
    for epoch in range(a.epochs):
        perm = torch.randperm(n)
        total = 0.0
        for b in range(0, n, a.batch):
            idx = perm[b:b + a.batch]
            xb = xtr_dense_rows[idx].to_sparse_csr()
            opt.zero_grad()
            loss = loss_fn(model(xb), ytr[idx])
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        va = f1_scores(yva, (predict(xva) >= 0.5).float())
        print(f"epoch {epoch + 1}: loss {total / n:.5f} val micro {va[0]:.3f} macro {va[1]:.3f}", flush=True)
        if va[1] > best:
            best, bad = va[1], 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
            if bad >= a.patience:
                break
    model.load_state_dict(best_state)
    te = f1_scores(yte, (predict(xte) >= 0.5).float())
    print(f"{a.config}: test micro-F1 {te[0]:.3f} macro-F1 {te[1]:.3f} samples-F1 {te[2]:.3f} "
          f"(best val macro {best:.3f}; {time.time() - t0:.0f}s)")


if __name__ == "__main__":
    main()
