"""Data-parallel training over several processes with PyTorch's own engine (DDP), launched by ``torchrun``.

Li et al. 2020, "PyTorch Distributed: Experiences on Accelerating Data Parallel Training" (DDP):
every process holds a replica of the model, runs forward/backward on its own shard of each global
batch, and the gradients are averaged across processes (bucketed all-reduce overlapped with
backward) before the identical optimizer step on every replica. With ``R`` processes, ``A``
accumulation micro-steps and global batch ``B``, each process sees ``B / (R·A)`` clips per
micro-step and

    grad = 1/R Σ_r  1/A Σ_a  ∇ mean_loss(micro-batch (r, a))  =  ∇ mean_loss(global batch)

(equal micro-batch sizes), so a run on ``R`` processes computes what one process computes with the
same global batch, up to the float summation order (and BatchNorm, whose statistics are per
micro-batch unless ``nn.SyncBatchNorm`` pools them over processes).

Launch (one process per GPU; on CPU each process uses gloo)::

    torchrun --nproc_per_node 4 -m actionrec.train --model mtnet64 --dataset ucf101 ...

    env RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT  (set by torchrun)
      └→ init_from_env() ─→ DistInfo(rank, world_size, local_rank, device)
           world 1  → no process group (plain single-process run)
           CUDA     → nccl, device cuda:LOCAL_RANK
           CPU      → gloo, device cpu

Data order: :class:`DistributedEpochSampler` draws the same permutation of ``(seed, epoch)`` as
``actionrec.train.loaders.EpochSampler``, cuts it into the global batches of the single-process run and
gives rank ``r`` the ``r``-th contiguous slice of each, so the union over ranks of step ``k`` is
exactly step ``k`` of a one-process run (no padding, no duplicates: the tail that does not fill a
global batch is dropped, as ``drop_last`` does).

Departures from PySlowFast (``slowfast/utils/distributed.py``, ``DistributedSampler``):
``torch.utils.data.DistributedSampler`` interleaves ranks (``perm[r::R]``) and pads the last batch
by repeating indices; we slice global batches so the run equals the single-process one, and
evaluation shards are strided without padding (``shard_indices``), with the counts summed across
ranks (``all_reduce_sum``) instead of averaging per-rank means.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

from ..utils.device import get_device
from ..utils.seeding import mix_seeds

__all__ = [
    "DistInfo",
    "init_from_env",
    "cleanup",
    "is_main",
    "get_rank",
    "get_world_size",
    "barrier",
    "all_reduce_sum",
    "broadcast_buffers",
    "DistributedEpochSampler",
    "epoch_permutation",
    "shard_indices",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits: ``rank`` of ``world_size`` processes, ``local_rank`` on its node,
    and the ``device`` it trains on (``cuda:LOCAL_RANK`` under torchrun with GPUs)."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name}={value!r} must be an integer (torchrun sets it)") from None


def init_from_env(device: str | torch.device = "auto", *, timeout_s: float = 1800.0) -> DistInfo:
    """Read ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` (as set by ``torchrun``) and join the process group.

    ``device``: ``"auto"`` (CUDA if present), ``"cpu"`` or ``"cuda"``. With ``WORLD_SIZE`` > 1
    each process takes ``cuda:LOCAL_RANK`` with the ``nccl`` backend, or the CPU with ``gloo``;
    ``"cuda:N"`` is refused there (torchrun assigns the GPU). Without those variables, or with
    ``WORLD_SIZE=1``, no process group is created and ``device`` is resolved as usual.
    A process group that is already initialised (e.g. by the caller) is reused.
    """
    rank, world, local = _env_int("RANK", 0), _env_int("WORLD_SIZE", 1), _env_int("LOCAL_RANK", 0)
    if dist.is_available() and dist.is_initialized():
        rank, world = dist.get_rank(), dist.get_world_size()
    if world < 1 or not 0 <= rank < world:
        raise ValueError(f"RANK={rank} / WORLD_SIZE={world} are inconsistent; launch with torchrun")
    if world == 1:
        return DistInfo(0, 1, 0, get_device(device))
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    if isinstance(device, str) and device.startswith("cuda:"):
        raise ValueError(f"device={device!r}: under torchrun (WORLD_SIZE={world}) every process uses "
                         "cuda:LOCAL_RANK; pass device='cuda' or 'auto' (choose GPUs with CUDA_VISIBLE_DEVICES)")
    dev = get_device(device)
    if dev.type == "cuda":
        if local >= torch.cuda.device_count():
            raise ValueError(f"LOCAL_RANK={local} but only {torch.cuda.device_count()} GPU(s) are visible; "
                             "use --nproc_per_node <= the number of GPUs")
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if not dist.is_initialized():
        missing = [v for v in ("MASTER_ADDR", "MASTER_PORT") if v not in os.environ]
        if missing:
            raise ValueError(f"WORLD_SIZE={world} but {missing} are not set; launch with torchrun "
                             "(or set MASTER_ADDR/MASTER_PORT for env:// rendezvous)")
        backend = "nccl" if dev.type == "cuda" else "gloo"
        kwargs = {"device_id": dev} if dev.type == "cuda" else {}
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world,
                                timeout=datetime.timedelta(seconds=timeout_s), **kwargs)
    return DistInfo(rank, world, local, dev)


def cleanup() -> None:
    """Leave the process group (no-op when none is initialised)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def get_rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if _initialized() else 0


def get_world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if _initialized() else 1


def is_main() -> bool:
    """True on rank 0, and in a single-process run: the process that writes files and logs."""
    return get_rank() == 0


def barrier() -> None:
    """Wait for every rank (no-op in a single-process run)."""
    if _initialized() and dist.get_world_size() > 1:
        if dist.get_backend() == "nccl":
            dist.barrier(device_ids=[torch.cuda.current_device()])
        else:
            dist.barrier()


def _comm_device() -> torch.device:
    """Where collective tensors must live: the current GPU for nccl, the CPU otherwise."""
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """Sum ``tensor`` over all ranks, in place, and return it (unchanged in a single-process run).

    Works for CPU tensors under nccl too (copied to the GPU and back).
    """
    if not _initialized() or dist.get_world_size() == 1:
        return tensor
    dev = _comm_device()
    if tensor.device == dev:
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor
    buf = tensor.to(dev)
    dist.all_reduce(buf, op=dist.ReduceOp.SUM)
    tensor.copy_(buf)
    return tensor


@torch.no_grad()
def broadcast_buffers(module: torch.nn.Module, src: int = 0) -> None:
    """Copy rank ``src``'s buffers (BatchNorm running statistics) to every rank.

    DDP broadcasts buffers at the start of every forward, so after the last step each replica
    still holds the statistics of its own last micro-batch; calling this before evaluation and
    checkpointing makes every rank evaluate exactly the model rank 0 saves.
    """
    if not _initialized() or dist.get_world_size() == 1:
        return
    dev = _comm_device()
    for b in module.buffers():
        if b.device == dev:
            dist.broadcast(b, src)
        else:
            buf = b.to(dev)
            dist.broadcast(buf, src)
            b.copy_(buf)


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The shuffle of epoch ``epoch``: a permutation of ``range(n)`` that is a pure function of
    ``(seed, epoch)`` (the one definition behind both ``EpochSampler`` and :class:`DistributedEpochSampler`)."""
    g = torch.Generator().manual_seed(mix_seeds(seed, epoch))
    return torch.randperm(n, generator=g)


class DistributedEpochSampler(Sampler[int]):
    """This rank's share of the global batches of the ``(seed, epoch)`` permutation.

    The permutation is ``EpochSampler``'s. ``batch_size`` is the global batch (an int, or a list
    of per-step global batch sizes, e.g. a multigrid short cycle); step ``k`` covers
    ``perm[o_k : o_k + B_k]`` and rank ``r`` yields its ``r``-th contiguous slice of ``B_k / R``
    indices. Steps are taken while a whole global batch is left (the tail is dropped) or, with a
    list, for the listed steps. ``start_batch`` skips the first global batches (mid-epoch resume).

        perm (n,) ─→ global batches [B_0 | B_1 | ...] ─→ batch k, rank r: B_k[r·B_k/R : (r+1)·B_k/R]

    A DataLoader with ``batch_size = B / (R·A)`` (or a batch sampler cutting the same sizes) over
    this sampler gives ``A`` consecutive micro-batches per step, the accumulation micro-steps.
    """

    def __init__(self, n: int, *, seed: int, epoch: int, batch_size: int | Sequence[int],
                 rank: int | None = None, world_size: int | None = None, start_batch: int = 0):
        self.rank = get_rank() if rank is None else rank
        self.world_size = get_world_size() if world_size is None else world_size
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank={self.rank} must be in [0, world_size={self.world_size})")
        if isinstance(batch_size, int):
            sizes = [batch_size] * (n // batch_size) if batch_size > 0 else []
        else:
            sizes = [int(b) for b in batch_size]
            if sum(sizes) > n:
                raise ValueError(f"batch_size lists {sum(sizes)} clips per epoch but the split has {n}")
        bad = [b for b in sizes if b <= 0 or b % self.world_size]
        if bad or (isinstance(batch_size, int) and batch_size <= 0):
            raise ValueError(f"global batch_size {bad[0] if bad else batch_size} is not a positive multiple of "
                             f"world_size={self.world_size}")
        if not 0 <= start_batch <= len(sizes):
            raise ValueError(f"start_batch={start_batch} must be in [0, {len(sizes)}]")
        self.n, self.seed, self.epoch = n, seed, epoch
        self.sizes, self.start_batch = sizes, start_batch

    @property
    def local_sizes(self) -> list[int]:
        """Indices this rank yields per remaining step (``B_k / R``)."""
        return [b // self.world_size for b in self.sizes[self.start_batch:]]

    def __iter__(self) -> Iterator[int]:
        perm = epoch_permutation(self.n, self.seed, self.epoch)
        offset = sum(self.sizes[: self.start_batch])
        out: list[int] = []
        for b in self.sizes[self.start_batch:]:
            share = b // self.world_size
            lo = offset + self.rank * share
            out += perm[lo : lo + share].tolist()
            offset += b
        return iter(out)

    def __len__(self) -> int:
        return sum(self.local_sizes)


def shard_indices(n: int, *, rank: int | None = None, world_size: int | None = None) -> list[int]:
    """Evaluation shard of rank ``r``: ``r, r + R, r + 2R, ...`` (every index on exactly one rank)."""
    r = get_rank() if rank is None else rank
    w = get_world_size() if world_size is None else world_size
    return list(range(r, n, w))
