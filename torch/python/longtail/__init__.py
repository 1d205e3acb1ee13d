# SPDX-License-Identifier: Apache-2.0
"""longtail for PyTorch: fused, numerically safe losses for long-tailed multi-label classification.

One-line swaps (same arguments, same values and gradients, torch/README.md):

    criterion = torch.nn.BCEWithLogitsLoss(pos_weight=pw)   ->  longtail.WeightedBCEWithLogitsLoss(pos_weight=pw)
    torchvision.ops.sigmoid_focal_loss(x, y, 0.25, 2, "mean")  ->  longtail.sigmoid_focal_loss(x, y, 0.25, 2, "mean")

plus longtail.FocalBCEWithLogitsLoss (focal loss with per-class weights, pos_weight, any gamma >= 0),
longtail.AsymmetricLoss (ASL), their functional forms (longtail.functional), class weights from label
counts (longtail.class_weights, longtail.label_counts), multi-label metrics (longtail.metrics) and
the helpers for DistributedDataParallel (longtail.distributed).
"""
import torch  # noqa: F401  (imported first: the extension module uses its tensor types)

from . import _C  # noqa: F401
from . import distributed, functional, metrics  # noqa: F401
from .functional import (  # noqa: F401
    asymmetric_loss,
    focal_bce_with_logits,
    sigmoid_focal_loss,
    weighted_bce_with_logits,
)
from .modules import AsymmetricLoss, FocalBCEWithLogitsLoss, WeightedBCEWithLogitsLoss  # noqa: F401
from .weights import class_weights, label_counts  # noqa: F401

__version__ = "0.1.0"
with_cuda = _C.with_cuda  # True when the extension was built with the CUDA kernels

__all__ = [
    "WeightedBCEWithLogitsLoss",
    "FocalBCEWithLogitsLoss",
    "AsymmetricLoss",
    "weighted_bce_with_logits",
    "focal_bce_with_logits",
    "asymmetric_loss",
    "sigmoid_focal_loss",
    "class_weights",
    "label_counts",
    "metrics",
    "distributed",
    "functional",
]
