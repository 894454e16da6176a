"""Tests of actionrec.train.distributed and of fit() under DDP.

The main test launches 2 CPU processes (torch.multiprocessing.spawn, gloo backend, a free port)
that train the same configs as one process and checks that final weights, logs and metrics agree
within float tolerance. The model has no BatchNorm on purpose: BatchNorm normalises with each
process's own micro-batch statistics, so a 2-process run of a BN model is a (slightly) different
computation from the 1-process one; nn.SyncBatchNorm would pool the statistics, but torch 2.13
only runs it on GPUs (it raises for CPU tensors), so fit refuses sync_bn=True on CPU with several
processes (also checked here). Cases: plain DDP, DDP + gradient accumulation (no_sync on the first
micro-batch), DDP + multigrid (variable global batches) and DDP + accumulation + the fp16 GradScaler
path (CPU autocast stands in for CUDA's). Tiny data (64 clips of 8x16x16), a conv net of ~1k parameters.
"""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
from torch import nn

from actionrec.models import MODELS
from actionrec.train import EpochSampler, TrainConfig, distributed, fit, loop, make_loader
from actionrec.train.distributed import DistributedEpochSampler, shard_indices
from train_helpers import nobn_net


pytestmark = pytest.mark.usefixtures("one_thread")


def cfg_of(**overrides) -> TrainConfig:
    base = dict(model="nobn_net", dataset="synthactions", dataset_kwargs={"frames": 8, "size": 16, "difficulty": "easy"},
                train_samples=64, val_samples=30, test_samples=30, epochs=2, batch_size=8, log_every=3,
                warmup_steps=2, clip_grad=1.0, device="cpu")
    return TrainConfig(**{**base, **overrides})


# name -> config overrides; every case is also trained by one process with accum_steps=1
CASES = {
    "ddp": {},
    "ddp_accum2": {"accum_steps": 2},  # 2 processes x 2 micro-batches of 2 clips
    "ddp_multigrid": {"multigrid": "long+short", "epochs": 4, "batch_size": 4, "train_samples": 96},
    # the CUDA fp16 GradScaler path, on CPU (see _fp16); SGD: Adam would turn fp16 rounding of near-zero
    # gradients into +-lr steps
    "ddp_fp16_accum2": {"amp": True, "accum_steps": 2, "optimizer": "sgd", "lr": 0.05},
}
TOLERANCE = {"ddp_fp16_accum2": 2e-4}  # max |weight difference| to the one-process run; default 1e-5
# (measured: 8e-8, 1e-7, 6e-7 and 4e-5; the weights move by up to ~2e-2)


def _fp16(amp, device):
    """Stands in for actionrec.utils.device.amp_dtype in the loop: fp16 autocast + GradScaler on CPU when amp=True (CUDA-only otherwise)."""
    return torch.float16 if amp is True else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, root: str) -> None:
    """One DDP process: train every case into root/<case>, write what it returned to root/<case>.rank<r>.json."""
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    MODELS.setdefault("nobn_net", nobn_net)
    loop.amp_dtype = _fp16
    info = distributed.init_from_env("cpu")
    assert (info.rank, info.world_size, info.device.type) == (rank, world, "cpu")
    for name, overrides in CASES.items():
        result = fit(cfg_of(**overrides), os.path.join(root, name), progress=False)
        with open(os.path.join(root, f"{name}.rank{rank}.json"), "w") as f:
            json.dump(result, f)
    try:
        fit(cfg_of(sync_bn=True), os.path.join(root, "sync_bn"), progress=False)
        message = "no error"
    except ValueError as e:
        message = str(e)
    try:  # torch itself: nn.SyncBatchNorm in a gloo group on CPU tensors (why fit refuses sync_bn on CPU)
        nn.SyncBatchNorm(4).train()(torch.randn(2, 4, 3))
        torch_message = "no error"
    except ValueError as e:
        torch_message = str(e)
    with open(os.path.join(root, f"sync_bn.rank{rank}.txt"), "w") as f:
        f.write(message + "\n" + torch_message)
    distributed.cleanup()


def _metrics(run_dir) -> list[dict]:
    lines = [json.loads(s) for s in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in d.items() if k != "time"} for d in lines]


def _assert_close_lines(a: list[dict], b: list[dict]) -> None:
    assert [d["kind"] for d in a] == [d["kind"] for d in b]
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float):
                assert x[k] == pytest.approx(y[k], rel=1e-4, abs=1e-5), (x["kind"], x["step"], k)
            else:
                assert x[k] == y[k], (x["kind"], x["step"], k)


def test_two_gloo_processes_equal_one_process(tmp_path, monkeypatch):
    monkeypatch.setitem(MODELS, "nobn_net", nobn_net)
    monkeypatch.setattr(loop, "amp_dtype", _fp16)
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)

    for name, overrides in CASES.items():
        ddp_dir, one_dir = tmp_path / name, tmp_path / f"{name}_one"
        one = fit(cfg_of(**{**overrides, "accum_steps": 1}), one_dir, progress=False)
        r0, r1 = (json.loads((tmp_path / f"{name}.rank{r}.json").read_text()) for r in (0, 1))
        # every rank returns the same result (sharded evaluation summed over ranks) ...
        assert {k: v for k, v in r0.items() if k != "wall_s"} == {k: v for k, v in r1.items() if k != "wall_s"}
        assert r0["world_size"] == 2 and one["world_size"] == 1 and r0["steps"] == one["steps"]
        assert r0["amp"] == one["amp"] == ("float16" if overrides.get("amp") is True else None)
        # ... equal to the single-process run: same clips counted, same predictions, losses to float error
        for split in ("test",):
            assert r0[split]["n"] == one[split]["n"] == 30
            assert r0[split]["confusion"] == one[split]["confusion"]
            assert r0[split]["loss"] == pytest.approx(one[split]["loss"], rel=1e-4)
        for a, b in zip(r0["val_history"], one["val_history"]):
            assert a["top1"] == b["top1"] and a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        # final weights: DDP averages gradients in another order than one process sums them
        w_ddp = torch.load(ddp_dir / "checkpoint.pt", weights_only=True)["model"]
        w_one = torch.load(one_dir / "checkpoint.pt", weights_only=True)["model"]
        diff = max((w_ddp[k] - w_one[k]).abs().max().item() for k in w_one)
        assert diff < TOLERANCE.get(name, 1e-5), (name, diff)
        # only rank 0 wrote: one line per event (a second writer would duplicate lines)
        _assert_close_lines(_metrics(ddp_dir), _metrics(one_dir))
        assert sorted(p.name for p in ddp_dir.iterdir()) == [
            "checkpoint.pt", "config.json", "final.json", "fingerprint.json", "metrics.jsonl"]
    for r in (0, 1):
        ours, torchs = (tmp_path / f"sync_bn.rank{r}.txt").read_text().split("\n")
        assert "sync_bn=True" in ours and "GPU" in ours and "sync_bn=False" in ours
        assert "SyncBatchNorm expected input tensor to be on GPU" in torchs  # if torch lifts this, allow sync_bn on CPU


def test_sampler_slices_the_single_process_batches():
    n, batch, world = 50, 8, 2
    perm = list(EpochSampler(n, seed=3, epoch=5))
    shards = [list(DistributedEpochSampler(n, seed=3, epoch=5, batch_size=batch, rank=r, world_size=world))
              for r in range(world)]
    assert [len(s) for s in shards] == [24, 24]  # 6 full global batches of 8, the tail of 2 dropped
    for k in range(6):
        step = shards[0][4 * k:4 * k + 4] + shards[1][4 * k:4 * k + 4]
        assert step == perm[8 * k:8 * k + 8]
    # mid-epoch resume: start_batch skips whole global batches
    late = DistributedEpochSampler(n, seed=3, epoch=5, batch_size=batch, rank=1, world_size=world, start_batch=4)
    assert list(late) == shards[1][16:] and late.local_sizes == [4, 4]
    # variable global batches (a multigrid short cycle)
    var = [list(DistributedEpochSampler(n, seed=3, epoch=5, batch_size=[16, 8, 4], rank=r, world_size=world))
           for r in range(world)]
    assert var[0][:8] + var[1][:8] == perm[:16] and var[0][8:12] + var[1][8:12] == perm[16:24]
    assert var[0][12:] + var[1][12:] == perm[24:28]


def test_sampler_and_batch_errors_name_the_cause():
    with pytest.raises(ValueError, match="world_size=2"):
        DistributedEpochSampler(20, seed=0, epoch=0, batch_size=5, rank=0, world_size=2)
    with pytest.raises(ValueError, match="rank=2"):
        DistributedEpochSampler(20, seed=0, epoch=0, batch_size=4, rank=2, world_size=2)
    cfg = TrainConfig(dataset_kwargs={"frames": 4, "size": 8}, batch_size=6, accum_steps=2, device="cpu")
    ds = torch.utils.data.TensorDataset(torch.zeros(20, 3, 4, 8, 8), torch.zeros(20, dtype=torch.long))
    with pytest.raises(ValueError, match=r"world_size \* accum_steps = 2 \* 2"):
        make_loader(ds, cfg, train=True, rank=0, world_size=2)


def test_rank_loaders_cover_the_one_process_batches_and_eval_shards():
    ds = torch.utils.data.TensorDataset(torch.arange(40.0)[:, None], torch.arange(40))
    cfg = TrainConfig(batch_size=8, accum_steps=2, device="cpu")
    one = [y.tolist() for _, y in make_loader(ds, TrainConfig(batch_size=8, device="cpu"), train=True, epoch=1)]
    ranks = [[y.tolist() for _, y in make_loader(ds, cfg, train=True, epoch=1, rank=r, world_size=2)] for r in (0, 1)]
    assert all(len(b) == 2 for rk in ranks for b in rk)  # micro-batches of 8 / (2 * 2)
    for k, batch in enumerate(one):  # step k = rank 0's 2 micro-batches then rank 1's
        assert ranks[0][2 * k] + ranks[0][2 * k + 1] + ranks[1][2 * k] + ranks[1][2 * k + 1] == batch
    shards = [sum((y.tolist() for _, y in make_loader(ds, cfg, train=False, rank=r, world_size=3)), [])
              for r in range(3)]
    assert sorted(sum(shards, [])) == list(range(40)) and shards[1] == shard_indices(40, rank=1, world_size=3)


def test_single_process_needs_no_process_group(monkeypatch):
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(var, raising=False)
    info = distributed.init_from_env("cpu")
    assert (info.rank, info.world_size, info.local_rank, info.is_main) == (0, 1, 0, True)
    assert not torch.distributed.is_initialized() and distributed.is_main()
    t = torch.ones(3)
    assert distributed.all_reduce_sum(t) is t and torch.equal(t, torch.ones(3))
    distributed.barrier()  # no-op


def test_init_from_env_explains_a_bad_launch(monkeypatch):
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    with pytest.raises(ValueError, match="MASTER_ADDR.*torchrun"):
        distributed.init_from_env("cpu")
    with pytest.raises(ValueError, match="cuda:LOCAL_RANK"):
        distributed.init_from_env("cuda:1")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match="RANK=2"):
        distributed.init_from_env("cpu")
