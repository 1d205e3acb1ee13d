# SPDX-License-Identifier: Apache-2.0
"""DistributedDataParallel, gloo, 2 processes on this machine: 2 ranks with half the batch each and
longtail.distributed's normaliser + all-reduced class weights make the same parameter update as one
process with the whole batch; the naive per-rank mean and per-rank class weights do not."""
import os
import socket
import subprocess
import sys

import torch

import longtail
from ddp_problem import GAMMA, LR, make_model, problem

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def single_process_update():
    x, y, mask = problem()
    model = make_model()
    pos_weight = longtail.class_weights(longtail.label_counts(y), y.shape[0], cap=7.0)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    longtail.FocalBCEWithLogitsLoss(GAMMA, pos_weight=pos_weight)(model(x), y, mask=mask).backward()
    opt.step()
    return [p.detach() for p in model.parameters()]


def test_two_ranks_match_one_process(tmp_path):
    port = str(free_port())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([HERE, os.environ.get("PYTHONPATH", "")]))
    procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "ddp_worker.py"), str(r), "2", port, str(tmp_path)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for r in range(2)]
    outputs = [p.communicate(timeout=240)[0].decode() for p in procs]
    for p, out in zip(procs, outputs):
        assert p.returncode == 0, out
    want = single_process_update()
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for r in ranks:
        for got, ref in zip(r["global"], want):
            assert torch.allclose(got, ref, rtol=1e-6, atol=1e-7), (got - ref).abs().max()
    # The naive version really differs (the test can fail): per-rank mean and per-rank counts.
    naive_err = max((got - ref).abs().max().item() for got, ref in zip(ranks[0]["naive"], want))
    assert naive_err > 1e-3, naive_err
