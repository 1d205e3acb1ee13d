#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the PyTorch golden files the C++ tests compare against (tests/data/golden_*.txt).

Run with Debian's python (it has python3-torch and python3-torchvision):

    /usr/bin/python3 tests/reference/make_golden.py            # writes tests/data/
    /usr/bin/python3 tests/reference/make_golden.py --out DIR  # writes elsewhere

Everything is float64 and deterministic (fixed seeds), so rerunning it reproduces the committed
files (up to the last digit, should a future torch change its libm). The references are
independent of longtail's code:

  wbce   torch.nn.functional.binary_cross_entropy_with_logits(x, y_s, weight, pos_weight)
         (the functional form of BCEWithLogitsLoss), weight = sample_weight[:, None] * w[None, :].
  focal  torchvision.ops.sigmoid_focal_loss (alpha = -1 when alpha is off), called with HARD
         targets only: torchvision's p_t = p y + (1 - p)(1 - y) is a different convention for soft
         targets. longtail's loss is linear in the target, so a soft or smoothed target y_s is
             y_s * pw_c * w_c * FL(x, 1) + (1 - y_s) * w_c * FL(x, 0)
         with both FL terms from torchvision. pos_weight scales the positive term.
  db     the Distribution-Balanced loss (Wu et al., ECCV 2020) as the authors' code computes it
         (wutong16/DistributionBalancedLoss, mllt/models/losses/resample_loss.py, ResampleLoss
         with reweight_func='rebalance', logit_reg and focal), transcribed to torch here:
             r   = (1 / n_c) / sum_j y_ij / n_j,  w = sigmoid(beta (r - mu)) + alpha
             z   = x + s_c - log(N / n_c - 1) * kappa / lambda          (init_bias)
             label 1: BCE(z, 1) * w,                 pt = exp(-BCE(z, 1))
             label 0: BCE(lambda z, 0) * w / lambda,  pt = exp(-BCE(lambda z, 0))
             l   = (1 - pt)^gamma * BCE-term           (focal; gamma = 0: none)
         with n_c and N - n_c floored at 1/2 (longtail's rule for unseen labels), masked elements
         left out of the row sums, and a soft or smoothed target y_s mixing the two labels'
         losses linearly (y_s * l(label 1) + (1 - y_s) * l(label 0), longtail's convention; the
         authors' code takes hard labels). s_c is the logit adjustment (logit_offset). The
         balance_param factor of the authors' focal variant is not part of longtail's loss.
  asl    written here from the ASL paper (Ridnik et al. 2021):
             L+ = (1 - p)^g+ * -log(p),  L- = p_m^g- * -log(1 - p_m),  p_m = max(p - m, 0)
             l  = w_c * [ alpha_+ * pw_c * y_s * L+ + alpha_- * (1 - y_s) * L- ]
         (alpha_+ = alpha, alpha_- = 1 - alpha when alpha is set, else 1). Logits are drawn away
         from the kink p = m, where the derivative does not exist.

Label smoothing: y_s = y (1 - eps) + eps / 2. Mask: masked elements contribute 0 to the loss and
get gradient 0; "mean" divides the masked sum by the number of unmasked elements (weights never
change the divisor). Gradients come from torch.autograd.

File format (plain text, one record per line, '#' starts a comment line):

    case <name>                       starts a case
    kind <wbce|focal|asl|db>          which loss; the C++ side maps it to WeightedBCE / FocalBCE /
                                      DistributionBalanced
    shape <rows> <cols>
    gamma_pos <g>  gamma_neg <g>      (focal / asl; wbce writes 0 0)
    alpha <a|none>
    margin <m>
    label_smoothing <eps>
    weight <c values|none>            per-class weight w_c
    pos_weight <c values|none>        per-class pos_weight pw_c
    logit_offset <c values|none>      per-class logit offset s_c (optional field; absent = none)
    db <alpha beta mu lambda kappa gamma>   DistributionBalancedOptions (kind db only)
    label_counts <c values>           training label counts n_c (kind db only)
    train_rows <N>                    training rows (kind db only)
    sample_weight <rows values|none>
    mask <rows*cols values (0/1)|none>
    logits <rows*cols values>         all matrices are row-major
    targets <rows*cols values>        the targets as given to the loss (before smoothing)
    loss_elements <rows*cols values>  per-element loss (weighted; masked elements 0)
    loss_sum <v>                      sum reduction
    loss_mean <v>                     mean reduction (sum / number of unmasked elements)
    grad_sum <rows*cols values>       d loss_sum / d logits
    grad_mean <rows*cols values>      d loss_mean / d logits
    end                               ends a case

Numbers are Python's repr of a float64 (shortest string that round-trips exactly).
"""

import argparse
import math
import os

import torch
import torch.nn.functional as F
from torchvision.ops import sigmoid_focal_loss

torch.set_default_dtype(torch.float64)

ROWS, COLS = 5, 7  # odd sizes: not a multiple of any SIMD width, so tails are exercised too


# ---- references -------------------------------------------------------------------------------

def smooth(y, eps):
    return y * (1.0 - eps) + eps / 2.0


def ref_wbce(x, y, c):
    """Per-element weighted BCE with logits (PyTorch)."""
    weight = elementwise_weight(c)
    pos_weight = torch.tensor(c["pos_weight"]) if c["pos_weight"] is not None else None
    return F.binary_cross_entropy_with_logits(x, smooth(y, c["label_smoothing"]), weight=weight,
                                              pos_weight=pos_weight, reduction="none")


def ref_focal(x, y, c):
    """Per-element focal loss from torchvision's sigmoid_focal_loss, hard targets only."""
    g = c["gamma_pos"]
    assert c["gamma_neg"] == g and c["margin"] == 0.0
    alpha = c["alpha"] if c["alpha"] is not None else -1.0
    ones, zeros = torch.ones_like(x), torch.zeros_like(x)
    fl_pos = sigmoid_focal_loss(x, ones, alpha=alpha, gamma=g, reduction="none")
    fl_neg = sigmoid_focal_loss(x, zeros, alpha=alpha, gamma=g, reduction="none")
    ys = smooth(y, c["label_smoothing"])
    return elementwise_weight_or_one(c) * (ys * pos_weight_or_one(c) * fl_pos + (1.0 - ys) * fl_neg)


def ref_asl(x, y, c):
    """Per-element asymmetric loss written from the paper's definition."""
    gp, gn, m = c["gamma_pos"], c["gamma_neg"], c["margin"]
    p = torch.sigmoid(x)
    one_minus_p = torch.sigmoid(-x)
    l_pos = one_minus_p ** gp * -F.logsigmoid(x)             # (1 - p)^g+ * -log(p)
    active = p > m                                           # p_m = max(p - m, 0) > 0
    p_m = torch.where(active, p - m, torch.ones_like(p))     # placeholder where inactive
    one_minus_pm = torch.where(active, one_minus_p + m, torch.ones_like(p))  # 1 - p_m
    l_neg = torch.where(active, p_m ** gn * -torch.log(one_minus_pm), torch.zeros_like(p))
    a_pos, a_neg = (c["alpha"], 1.0 - c["alpha"]) if c["alpha"] is not None else (1.0, 1.0)
    ys = smooth(y, c["label_smoothing"])
    return elementwise_weight_or_one(c) * (a_pos * ys * pos_weight_or_one(c) * l_pos + a_neg * (1.0 - ys) * l_neg)


def elementwise_weight(c):
    """weight tensor for F.binary_cross_entropy_with_logits: per-class times per-sample, or None."""
    w = None
    if c["weight"] is not None:
        w = torch.tensor(c["weight"]).reshape(1, -1).expand(ROWS, COLS)
    if c["sample_weight"] is not None:
        sw = torch.tensor(c["sample_weight"]).reshape(-1, 1).expand(ROWS, COLS)
        w = sw if w is None else w * sw
    return w


def elementwise_weight_or_one(c):
    w = elementwise_weight(c)
    return w if w is not None else 1.0


def pos_weight_or_one(c):
    return torch.tensor(c["pos_weight"]).reshape(1, -1) if c["pos_weight"] is not None else 1.0


def ref_db(x, y, c, mask):
    """Per-element Distribution-Balanced loss, the authors' computation (see the top of this file)."""
    alpha, beta, mu, lam, kappa, gamma = c["db"]
    counts = torch.tensor(c["label_counts"])
    n_pos = counts.clamp(min=0.5)
    n_neg = (c["train_rows"] - counts).clamp(min=0.5)
    freq_inv = 1.0 / n_pos
    m = mask if mask is not None else torch.ones_like(x)
    repeat_rate = (y * m * freq_inv).sum(dim=1, keepdim=True)
    pos_weight = freq_inv.unsqueeze(0) / repeat_rate  # inf for a row without positive labels
    if beta == 0.0:
        weight = torch.full_like(x, alpha + 0.5)  # sigmoid(0 * r) for every r (0 * inf is NaN in torch)
    else:
        weight = torch.sigmoid(beta * (pos_weight - mu)) + alpha
    weight = weight * elementwise_weight_or_one(c)
    init_bias = -torch.log(n_neg / n_pos) * kappa / lam
    offset = torch.tensor(c["logit_offset"]) if c["logit_offset"] is not None else 0.0
    z = x + offset + init_bias

    def label_loss(label):
        labels = torch.full_like(x, float(label))
        logits = z * (1 - labels) * lam + z * labels  # logit_reg_functions: negatives scaled by lambda
        w = weight / lam * (1 - labels) + weight * labels
        bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        loss = bce * w
        if gamma > 0:
            pt = torch.exp(-bce)
            loss = (1 - pt) ** gamma * loss
        return loss

    ys = smooth(y, c["label_smoothing"])
    return ys * label_loss(1) + (1.0 - ys) * label_loss(0)


REFERENCES = {"wbce": ref_wbce, "focal": ref_focal, "asl": ref_asl, "db": ref_db}


# ---- data ---------------------------------------------------------------------------------------

def make_inputs(c, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(ROWS, COLS, generator=g) * 4.0
    x = x.clamp(-15.0, 15.0)  # beyond ~15 torch's 1 - p_t loses digits (torchvision forms it by subtraction)
    # A few fixed values: exactly 0, near-saturated on both sides.
    x[0, 0], x[0, 1], x[1, 2], x[2, 3] = 0.0, 12.5, -13.0, 1e-3
    if c["margin"] > 0:
        # Keep every logit at least 0.1 away from the kink p = margin (x = logit(margin)).
        kink = math.log(c["margin"] / (1.0 - c["margin"]))
        near = (x - kink).abs() < 0.1
        x = torch.where(near, x + 0.25 * torch.sign(x - kink + 1e-300), x)
        assert bool(((x - kink).abs() >= 0.1).all())
    if c["soft_targets"]:
        y = torch.rand(ROWS, COLS, generator=g)
        y[0, 0], y[0, 1] = 0.0, 1.0
    else:
        y = (torch.rand(ROWS, COLS, generator=g) < 0.4).to(torch.float64)
    mask = None
    if c["with_mask"]:
        mask = (torch.rand(ROWS, COLS, generator=g) < 0.75).to(torch.float64)
        mask[0, 0] = 0.0
    c = dict(c)
    if c["weight"] == "rand":
        c["weight"] = [round(v, 3) for v in (0.2 + 2.8 * torch.rand(COLS, generator=g)).tolist()]
    if c["pos_weight"] == "rand":
        c["pos_weight"] = [round(v, 3) for v in (0.5 + 7.5 * torch.rand(COLS, generator=g)).tolist()]
    if c["sample_weight"] == "rand":
        sw = (0.1 + 1.9 * torch.rand(ROWS, generator=g)).tolist()
        sw[1] = 0.0  # a zero-weight sample
        c["sample_weight"] = [round(v, 3) for v in sw]
    if c["logit_offset"] == "rand":
        c["logit_offset"] = [round(v, 3) for v in (-4.0 + 4.5 * torch.rand(COLS, generator=g)).tolist()]
    if c["kind"] == "db":
        # Head, tail, an unseen label and one positive in every training row; a row without
        # positive labels in the batch.
        counts = torch.floor(300.0 * torch.rand(COLS, generator=g) ** 2).tolist()
        counts[0], counts[1] = 0.0, float(c["train_rows"])
        c["label_counts"] = counts
        y[3, :] = 0.0
    return x, y, mask, c


def evaluate(c, x, y, mask):
    ref = REFERENCES[c["kind"]]
    m = mask if mask is not None else torch.ones_like(x)
    valid = float(m.sum())

    def elements(xx):
        if c["kind"] == "db":  # the offset is part of its reference
            return ref(xx, y, c, mask) * m
        if c["logit_offset"] is not None:
            xx = xx + torch.tensor(c["logit_offset"]).reshape(1, -1)
        return ref(xx, y, c) * m

    xs = x.clone().requires_grad_(True)
    loss_sum = elements(xs).sum()
    (grad_sum,) = torch.autograd.grad(loss_sum, xs)
    xm = x.clone().requires_grad_(True)
    loss_mean = elements(xm).sum() / valid
    (grad_mean,) = torch.autograd.grad(loss_mean, xm)
    out = {
        "loss_elements": elements(x),
        "loss_sum": loss_sum.detach(),
        "loss_mean": loss_mean.detach(),
        "grad_sum": grad_sum,
        "grad_mean": grad_mean,
    }
    for k, v in out.items():
        assert bool(torch.isfinite(v).all()), (c["name"], k)
    return out


def case(name, kind, gamma_pos=0.0, gamma_neg=None, alpha=None, margin=0.0, label_smoothing=0.0, weight=None,
         pos_weight=None, sample_weight=None, with_mask=False, soft_targets=False, logit_offset=None, db=None):
    return dict(name=name, kind=kind, gamma_pos=float(gamma_pos),
                gamma_neg=float(gamma_pos if gamma_neg is None else gamma_neg), alpha=alpha, margin=float(margin),
                label_smoothing=float(label_smoothing), weight=weight, pos_weight=pos_weight,
                sample_weight=sample_weight, with_mask=with_mask, soft_targets=soft_targets,
                logit_offset=logit_offset, db=db, label_counts=None, train_rows=400)


def wbce_cases():
    return [
        case("wbce_plain", "wbce"),
        case("wbce_weight", "wbce", weight="rand"),
        case("wbce_pos_weight", "wbce", pos_weight="rand"),
        case("wbce_weight_pos_weight", "wbce", weight="rand", pos_weight="rand"),
        case("wbce_soft_targets", "wbce", weight="rand", pos_weight="rand", soft_targets=True),
        case("wbce_smoothing", "wbce", weight="rand", pos_weight="rand", label_smoothing=0.1),
        case("wbce_mask_sample_weight", "wbce", weight="rand", pos_weight="rand", sample_weight="rand",
             with_mask=True),
        case("wbce_everything", "wbce", weight="rand", pos_weight="rand", sample_weight="rand", with_mask=True,
             label_smoothing=0.3, soft_targets=True),
    ]


def focal_cases():
    out = []
    for g in (0.0, 0.5, 1.0, 2.0, 2.5, 3.0):
        for alpha in (None, 0.25):
            tag = f"g{g:g}".replace(".", "p") + ("_alpha" if alpha is not None else "")
            out.append(case(f"focal_{tag}", "focal", gamma_pos=g, alpha=alpha))
    out += [
        case("focal_g2_alpha_weight_pos_weight", "focal", gamma_pos=2.0, alpha=0.25, weight="rand", pos_weight="rand"),
        case("focal_g0p5_mask_sample_weight", "focal", gamma_pos=0.5, weight="rand", pos_weight="rand",
             sample_weight="rand", with_mask=True),
        case("focal_g2p5_alpha_smoothing", "focal", gamma_pos=2.5, alpha=0.6, label_smoothing=0.2),
        case("focal_g1_soft_targets", "focal", gamma_pos=1.0, weight="rand", soft_targets=True),
        case("focal_g3_everything", "focal", gamma_pos=3.0, alpha=0.4, weight="rand", pos_weight="rand",
             sample_weight="rand", with_mask=True, label_smoothing=0.05),
        case("focal_g0_alpha_smoothing", "focal", gamma_pos=0.0, alpha=0.25, label_smoothing=0.1),
    ]
    return out


def asl_cases():
    return [
        case("asl_paper_defaults", "asl", gamma_pos=0.0, gamma_neg=4.0, margin=0.05),
        case("asl_1_2_m0p1", "asl", gamma_pos=1.0, gamma_neg=2.0, margin=0.1),
        case("asl_no_margin_1_3", "asl", gamma_pos=1.0, gamma_neg=3.0, margin=0.0),
        case("asl_real_gammas_alpha_weights", "asl", gamma_pos=0.5, gamma_neg=2.5, margin=0.2, alpha=0.75,
             weight="rand", pos_weight="rand"),
        case("asl_fractional_neg_gamma", "asl", gamma_pos=2.0, gamma_neg=0.5, margin=0.3),
        case("asl_everything", "asl", gamma_pos=2.0, gamma_neg=3.0, margin=0.05, label_smoothing=0.1,
             weight="rand", pos_weight="rand", sample_weight="rand", with_mask=True, soft_targets=True),
    ]


def db_cases():
    defaults = (0.1, 10.0, 0.2, 2.0, 0.05, 2.0)  # alpha, beta, mu, lambda, kappa, gamma
    return [
        case("db_defaults", "db", db=defaults),
        case("db_no_focus_lambda1_kappa0", "db", db=(0.1, 10.0, 0.2, 1.0, 0.0, 0.0)),
        case("db_real_gamma_lambda5", "db", db=(0.3, 3.0, -0.5, 5.0, 1.0, 1.5), weight="rand"),
        case("db_beta0_smoothing", "db", db=(0.2, 0.0, 0.2, 0.5, 0.05, 0.5), label_smoothing=0.1),
        case("db_logit_offset_mask_sample_weight", "db", db=defaults, logit_offset="rand", sample_weight="rand",
             with_mask=True),
        case("db_everything", "db", db=(0.1, 10.0, 0.05, 2.0, 0.05, 2.0), weight="rand", logit_offset="rand",
             sample_weight="rand", with_mask=True, soft_targets=True, label_smoothing=0.05),
    ]


def logit_offset_cases():
    """The logit adjustment of the other losses: their references at x + s_c."""
    return [
        case("wbce_logit_offset", "wbce", weight="rand", pos_weight="rand", logit_offset="rand", soft_targets=True),
        case("focal_g2_logit_offset", "focal", gamma_pos=2.0, alpha=0.25, logit_offset="rand", with_mask=True,
             sample_weight="rand"),
        case("asl_logit_offset", "asl", gamma_pos=1.0, gamma_neg=3.0, margin=0.05, logit_offset="rand"),
    ]


# ---- output -------------------------------------------------------------------------------------

def fmt_values(v):
    if v is None:
        return "none"
    if isinstance(v, torch.Tensor):
        v = v.reshape(-1).tolist()
    if isinstance(v, (int, float)):
        v = [v]
    return " ".join(repr(float(e)) for e in v)


def write_file(path, title, cases, seed0):
    lines = [f"# {title}", "# Generated by tests/reference/make_golden.py (format documented there). Do not edit.",
             f"# torch {torch.__version__}", ""]
    for i, c in enumerate(cases):
        x, y, mask, c = make_inputs(c, seed0 + i)
        r = evaluate(c, x, y, mask)
        lines += [
            f"case {c['name']}",
            f"kind {c['kind']}",
            f"shape {ROWS} {COLS}",
            f"gamma_pos {c['gamma_pos']!r}",
            f"gamma_neg {c['gamma_neg']!r}",
            f"alpha {fmt_values(c['alpha'])}",
            f"margin {c['margin']!r}",
            f"label_smoothing {c['label_smoothing']!r}",
            f"weight {fmt_values(c['weight'])}",
            f"pos_weight {fmt_values(c['pos_weight'])}",
        ]
        if c["logit_offset"] is not None:
            lines.append(f"logit_offset {fmt_values(c['logit_offset'])}")
        if c["kind"] == "db":
            lines += [f"db {fmt_values(list(c['db']))}", f"label_counts {fmt_values(c['label_counts'])}",
                      f"train_rows {fmt_values(float(c['train_rows']))}"]
        lines += [
            f"sample_weight {fmt_values(c['sample_weight'])}",
            f"mask {fmt_values(mask)}",
            f"logits {fmt_values(x)}",
            f"targets {fmt_values(y)}",
            f"loss_elements {fmt_values(r['loss_elements'])}",
            f"loss_sum {fmt_values(r['loss_sum'].item())}",
            f"loss_mean {fmt_values(r['loss_mean'].item())}",
            f"grad_sum {fmt_values(r['grad_sum'])}",
            f"grad_mean {fmt_values(r['grad_mean'])}",
            "end",
            "",
        ]
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {path} ({len(cases)} cases)")


def self_check():
    """The hand-written ASL reference must reduce to torchvision's focal loss for g+ = g- = g, m = 0,
    and focal with g = 0 and no alpha to BCE: guards the references against each other."""
    g = torch.Generator().manual_seed(7)
    x = torch.randn(ROWS, COLS, generator=g) * 4.0
    y = (torch.rand(ROWS, COLS, generator=g) < 0.5).to(torch.float64)
    for gamma in (0.0, 0.5, 2.0, 2.5):
        for alpha in (None, 0.25):
            c = case("check", "asl", gamma_pos=gamma, alpha=alpha)
            a = ref_asl(x, y, c)
            f = ref_focal(x, y, dict(c, kind="focal"))
            assert torch.allclose(a, f, rtol=1e-12, atol=1e-300), (gamma, alpha)
    c = case("check", "focal", gamma_pos=0.0)
    assert torch.allclose(ref_focal(x, y, c), ref_wbce(x, y, dict(c, kind="wbce")), rtol=1e-12, atol=1e-300)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "data"), help="output folder (default tests/data)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    self_check()
    write_file(os.path.join(args.out, "golden_wbce.txt"),
               "Weighted BCE with logits: torch.nn.functional.binary_cross_entropy_with_logits", wbce_cases(), 1000)
    write_file(os.path.join(args.out, "golden_focal.txt"), "Focal BCE: torchvision.ops.sigmoid_focal_loss",
               focal_cases(), 2000)
    write_file(os.path.join(args.out, "golden_asl.txt"), "Asymmetric loss (ASL): paper definition in torch",
               asl_cases(), 3000)
    write_file(os.path.join(args.out, "golden_db.txt"),
               "Distribution-Balanced loss (the authors' resample_loss.py in torch) and the logit offset of the others",
               db_cases() + logit_offset_cases(), 4000)


if __name__ == "__main__":
    main()
