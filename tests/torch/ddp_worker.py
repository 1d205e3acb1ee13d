# SPDX-License-Identifier: Apache-2.0
"""One rank of test_ddp.py: DistributedDataParallel (gloo) on this rank's half of a batch, one SGD
step, twice: with longtail.distributed's global normaliser and class weights, and naively (per-rank
mean, per-rank class weights). Writes the updated parameters to <out>/rank<r>.pt.

  /usr/bin/python3 ddp_worker.py RANK WORLD PORT OUT_DIR"""
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import longtail
import longtail.distributed as ltd

from ddp_problem import GAMMA, LR, make_model, problem


def step(x, y, mask, global_normaliser):
    model = DistributedDataParallel(make_model())
    if global_normaliser:
        pos_weight = ltd.global_class_weights(y, cap=7.0)
        divisor = ltd.ddp_mean_divisor(ltd.valid_count(y, mask))
    else:
        pos_weight = longtail.class_weights(longtail.label_counts(y), y.shape[0], cap=7.0)
        divisor = None
    loss = longtail.FocalBCEWithLogitsLoss(GAMMA, pos_weight=pos_weight)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    loss(model(x), y, mask=mask, mean_divisor=divisor).backward()
    opt.step()
    return [p.detach().clone() for p in model.module.parameters()]


def main():
    rank, world, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    x, y, mask = problem()
    rows = x.shape[0] // world
    shard = slice(rank * rows, (rank + 1) * rows)
    result = {"global": step(x[shard], y[shard], mask[shard], True),
              "naive": step(x[shard], y[shard], mask[shard], False)}
    torch.save(result, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
