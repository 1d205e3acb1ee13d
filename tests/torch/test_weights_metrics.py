# SPDX-License-Identifier: Apache-2.0
"""longtail.class_weights / label_counts and longtail.metrics on tensors and NumPy arrays, against
the formulas and scikit-learn."""
import math

import numpy as np
import pytest
import torch

import longtail


def test_label_counts_and_class_weights():
    y = torch.tensor([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.uint8)
    counts = longtail.label_counts(y)
    assert counts.tolist() == [3.0, 1.0, 0.0]
    w = longtail.class_weights(counts, 4, "pos_neg_ratio", cap=2.5)
    assert w.dtype == torch.float32
    assert w.tolist() == pytest.approx([1 / 3, 2.5, 2.5])  # (4-3)/3, min(3, 2.5), unseen = as seen once
    w = longtail.class_weights(counts.numpy(), 4, "effective_number", beta=0.9, dtype=torch.float64)
    assert isinstance(w, np.ndarray)
    assert w.tolist() == pytest.approx([0.1 / (1 - 0.9**3), 1.0, 1.0])
    assert longtail.class_weights(counts, 4, "inverse_frequency").tolist() == pytest.approx([4 / 9, 4 / 3, 4 / 3])
    assert longtail.class_weights(counts, 4, "uniform", zero_count_weight=0.0).tolist() == [1.0, 1.0, 0.0]


def test_f1_scores_match_scikit_learn():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = (rng.random((60, 7)) < 0.3).astype(np.float32)
    s = (y * 0.6 + rng.random((60, 7)) * 0.7).astype(np.float32)
    r = longtail.metrics.f1_scores(torch.from_numpy(s), torch.from_numpy(y), 0.5)
    pred = s > 0.5
    for avg in ("micro", "macro", "samples"):
        p, rc, f, _ = sklearn_metrics.precision_recall_fscore_support(y, pred, average=avg, zero_division=0)
        assert r[avg]["precision"] == pytest.approx(p, abs=1e-12)
        assert r[avg]["recall"] == pytest.approx(rc, abs=1e-12)
        assert r[avg]["f1"] == pytest.approx(f, abs=1e-12)
    f1 = sklearn_metrics.f1_score(y, pred, average=None, zero_division=0)
    assert isinstance(r["label_f1"], torch.Tensor)
    assert r["label_f1"].numpy() == pytest.approx(f1, abs=1e-12)
    rn = longtail.metrics.f1_scores(s, y, np.full(7, 0.5))  # NumPy in, NumPy out; per-label thresholds
    assert isinstance(rn["label_f1"], np.ndarray) and rn["macro"]["f1"] == r["macro"]["f1"]


def test_tune_thresholds_and_buckets():
    s = torch.tensor([[0.9, 0.2], [0.8, 0.1], [0.3, 0.7], [0.1, 0.6]])
    y = torch.tensor([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=torch.float32)
    thr = longtail.metrics.tune_thresholds(s, y)
    assert thr.tolist() == pytest.approx([0.55, 0.65])
    assert longtail.metrics.f1_scores(s, y, thr)["macro"]["f1"] == 1.0
    buckets = longtail.metrics.frequency_bucket_f1(torch.tensor([1.0, 0.5, 0.0]), torch.tensor([150.0, 50.0, 3.0]))
    assert [(b["name"], b["labels"], b["macro_f1"]) for b in buckets] == [("head", 1, 1.0), ("medium", 1, 0.5),
                                                                          ("tail", 1, 0.0)]
    assert buckets[0]["max_count"] == math.inf
    with pytest.raises(ValueError, match="train_counts has 2 entries but label_f1 has 3"):
        longtail.metrics.frequency_bucket_f1(torch.ones(3), torch.ones(2))
