#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Independent difficulty check of a generated corpus (see CALIBRATION.md).

Reads the files written by longtail_train::write_splits (train.txt / validation.txt / test.txt in
the XMC text format + labels.tsv), trains a PyTorch MLP with plain BCE (and optionally a capped
pos-weight + focal configuration) and prints test micro / macro / samples F1 at threshold 0.5,
with early stopping on validation macro-F1. It is a yardstick for choosing the generator's
constants, not the project's trainer: the constants are frozen after a longtail-train run.

Usage: /usr/bin/python3 calibrate_torch.py DIR [--hidden 512] [--epochs 20] [--lr 1e-3] [--config bce|cap7_g3]
(defaults = longtail-train's defaults: 512 hidden units, Adam 1e-3, batch 256, 20 epochs, patience 5)
(Debian's python3 with python3-torch; one thread so timings do not disturb other work.)
"""
import argparse
import time

import numpy as np
import torch


def read_xmc(path):
    """-> (indptr, indices, values) of the features as numpy CSR, and the dense 0/1 label matrix."""
    with open(path) as f:
        n, nf, nl = map(int, f.readline().split())
        indptr, indices, values, lrows, lcols = [0], [], [], [], []
        for r in range(n):
            parts = f.readline().rstrip("\n").split(" ")
            start = 0
            if parts and parts[0] and ":" not in parts[0]:
                for l in parts[0].split(","):
                    lrows.append(r)
                    lcols.append(int(l))
                start = 1
            for tok in parts[start:]:
                if tok:
                    i, v = tok.split(":")
                    indices.append(int(i))
                    values.append(float(v))
            indptr.append(len(indices))
    y = torch.zeros(n, nl)
    if lrows:
        y[torch.tensor(lrows), torch.tensor(lcols)] = 1.0
    return (np.array(indptr), np.array(indices, dtype=np.int64), np.array(values, dtype=np.float32), nf), y


def bag(x, rows):
    """EmbeddingBag inputs (indices, offsets, per-sample weights) for the given rows."""
    indptr, indices, values, _ = x
    starts, ends = indptr[rows], indptr[rows + 1]
    idx = np.concatenate([indices[a:b] for a, b in zip(starts, ends)]) if len(rows) else np.zeros(0, np.int64)
    val = np.concatenate([values[a:b] for a, b in zip(starts, ends)]) if len(rows) else np.zeros(0, np.float32)
    offsets = np.concatenate([[0], np.cumsum(ends - starts)[:-1]])
    return torch.from_numpy(idx), torch.from_numpy(offsets.astype(np.int64)), torch.from_numpy(val)


class Mlp(torch.nn.Module):
    """Sparse input -> (EmbeddingBag = first linear layer on sparse rows) -> ReLU -> logits.
    Initialised like torch.nn.Linear (uniform +-1/sqrt(fan_in), biases too)."""

    def __init__(self, nf, hidden, nl):
        super().__init__()
        width = hidden if hidden > 0 else nl
        self.first = torch.nn.EmbeddingBag(nf, width, mode="sum")
        self.bias = torch.nn.Parameter(torch.empty(width))
        bound = 1 / np.sqrt(nf)
        torch.nn.init.uniform_(self.first.weight, -bound, bound)
        torch.nn.init.uniform_(self.bias, -bound, bound)
        self.out = torch.nn.Linear(hidden, nl) if hidden > 0 else None

    def forward(self, b):
        h = self.first(b[0], b[1], per_sample_weights=b[2]) + self.bias
        return self.out(torch.relu(h)) if self.out is not None else h


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
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--patience", type=int, default=5)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--config", default="bce", help="bce | capC_gG (pos_weight=min(C, neg/pos), focal gamma G)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scale", type=float, default=1.0, help="multiply all feature values (experiments)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    t0 = time.time()
    xtr, ytr = read_xmc(a.dir + "/train.txt")
    xva, yva = read_xmc(a.dir + "/validation.txt")
    xte, yte = read_xmc(a.dir + "/test.txt")
    if a.scale != 1.0:
        xtr, xva, xte = [(x[0], x[1], x[2] * np.float32(a.scale), x[3]) for x in (xtr, xva, xte)]
    nf, nl, n = xtr[3], ytr.shape[1], ytr.shape[0]
    print(f"read {n}/{yva.shape[0]}/{yte.shape[0]} rows, {nf} features, {nl} labels in {time.time() - t0:.1f}s")
    model = Mlp(nf, a.hidden, nl)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    pos = ytr.sum(0)
    gamma, pos_weight = 0.0, torch.ones(nl)
    if a.config != "bce":
        cap, g = a.config.split("_")
        pos_weight = torch.clamp((n - pos) / pos.clamp(min=1), max=float(cap[3:]))
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
            return torch.sigmoid(model(bag(x, np.arange(len(x[0]) - 1))))

    best, best_state, bad = -1.0, None, 0
    for epoch in range(a.epochs):
        perm = torch.randperm(n)
        total = 0.0
        for b in range(0, n, a.batch):
            idx = perm[b:b + a.batch]
            opt.zero_grad()
            loss = loss_fn(model(bag(xtr, idx.numpy())), ytr[idx])
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
