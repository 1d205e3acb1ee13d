# SPDX-License-Identifier: Apache-2.0
"""Global results under DistributedDataParallel.

Each rank sees a shard of the batch, so two things computed per rank are wrong:
 1. the mean: a rank divides its loss by its own number of valid elements, and DDP then averages
    the ranks' gradients, which equals the global mean only when every rank has the same count
    (masks, uneven last batches and padding make them differ);
 2. class weights from label counts: each rank counts only its shard.
The fixes: sum the counts over the ranks (all_reduce), then
 - loss(..., mean_divisor=ddp_mean_divisor(valid_count(...))): divides by global_count / world_size;
   DDP's gradient averaging (a division by world_size) then gives exactly d(global sum / global
   count), the gradient of the whole batch's mean;
 - class_weights(*all_reduce_label_counts(train_targets_shard)): the weights of the whole data set.
Every function here is a collective: every rank of `group` must call it, in the same order.
"""
import torch
import torch.distributed as dist

from .weights import class_weights, label_counts


def _device(group):
    # NCCL reduces CUDA tensors only; gloo and MPI take CPU tensors.
    if dist.get_backend(group) == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_reduce_sum(t, group):
    t = t.to(_device(group), torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM, group=group)
    return t.cpu()


def valid_count(input, mask=None):
    """This rank's number of valid elements: input.numel(), or the nonzero entries of `mask`."""
    return int(input.numel() if mask is None else torch.count_nonzero(mask).item())


def global_count(local_count, group=None):
    """Sum of `local_count` over the ranks of `group`."""
    return float(_all_reduce_sum(torch.tensor([float(local_count)]), group).item())


def ddp_mean_divisor(local_count, group=None):
    """The mean_divisor that makes DDP's gradient average the gradient of the global mean:
    (sum of the ranks' valid counts) / world_size. Pass it to a loss with reduction='mean'."""
    total = global_count(local_count, group)
    if total <= 0:
        raise ValueError("longtail: no valid element on any rank (global count 0); mean_divisor must be > 0")
    return total / dist.get_world_size(group)


def all_reduce_label_counts(targets, group=None):
    """(counts, num_samples) of the whole data set from each rank's shard of the training targets:
    positives per label and rows, summed over the ranks. Feed them to longtail.class_weights."""
    counts = label_counts(torch.as_tensor(targets))
    rows = torch.tensor([float(targets.shape[0])], dtype=torch.float64)
    both = _all_reduce_sum(torch.cat([counts, rows]), group)
    return both[:-1], int(both[-1].item())


def global_class_weights(targets, scheme="pos_neg_ratio", cap=float("inf"), group=None, **kwargs):
    """class_weights of the whole (sharded) training set, identical on every rank."""
    counts, n = all_reduce_label_counts(targets, group)
    return class_weights(counts, n, scheme, cap, **kwargs)
