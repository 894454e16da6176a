"""Multigrid training: variable mini-batch shapes on a schedule (long and short cycles).

Paper: Wu, Girshick, He, Feichtenhofer & Krähenbühl, "A Multigrid Method for Efficiently Training
Video Models" (CVPR 2020, arXiv:1912.00998), Sec. 3 and Fig. 2. Reference code: PySlowFast,
``slowfast/utils/multigrid.py`` (``MultigridSchedule.get_long_cycle_schedule``) and
``slowfast/datasets/multigrid_helper.py`` (``ShortCycleBatchSampler``); we follow its schedule
number for number (departures below).

The idea. A mini-batch of shape ``B x T x H x W`` (clips x frames x height x width) is resampled on a
coarser grid ``b x t x h x w`` and the batch grows so that the work per step stays the same::

    b * t * h * w  ≈  B * T * H * W                      (the paper's invariant; h = w = size)
    lr(b)          =  lr(B) * b / B                      (linear scaling rule, Goyal et al. 2017)

Coarse shapes run many more clips per second, so an epoch costs a fraction of a base-shape epoch.

Long cycle (per epoch). The shapes ``(t, s) = (round(T*ft), round(S*fs))`` for
``LONG_CYCLE_FACTORS = [(1/4, 1/√2), (1/2, 1/√2), (1/2, 1), (1, 1)]`` are visited in that order once per
stage of the learning-rate schedule (a stage = the epochs between two LR decays). Within a stage each
shape gets the same number of iterations, i.e. epochs proportional to its (average) batch size. The
last LR stage is replaced by a *final phase* at the base shape (train/test consistency), sized to
save as many iterations as the rest. Everything is then scaled to ``epochs`` (times
``epoch_factor``; the paper trains 1.5x the baseline's epochs) and the phase ends are rounded to whole
epochs. Batch multipliers are rounded integers, ``round(T*S² / (t*s²))``, so ``b`` stays a multiple
of the base batch (and of the data-parallel world size when the base batch is).

Short cycle (per step, inside every epoch). Steps cycle through the spatial sizes
``round(S*f)`` for ``SHORT_CYCLE_FACTORS = [1/2, 1/√2]`` and then the long-cycle size ``s``; a step at
size ``s_k`` takes ``round((s / (S*f))²)`` times the long-cycle batch. The cycle restarts every epoch
(as PySlowFast's sampler restarts each epoch).

Data flow (base 16 x 112², batch 32; long + short; one LR stage shown)::

    epochs ─→ stage 0 ──────────────────────────────────────────────→ stage 1 ... ─→ final phase
              4x79² b256 ─→ 8x79² b128 ─→ 8x112² b64 ─→ 16x112² b32                  16x112² b32
                 │ every epoch, steps k = 0, 1, 2, 0, 1, 2, ...
                 ↓
              size 56, b512 ─→ size 79, b256 ─→ size 79, b256 ─→ ...      (short cycle)

    loader (built from epoch_shape(e): clips (b, 3, t, s, s)) ─→ batch k
      ─→ resample_clip(x, at(e, k).frames, at(e, k).size) ─→ model ─→ loss ─→ step at lr x lr_scale

Shapes: ``resample_clip`` maps ``(B, C, T, H, W) -> (B, C, frames, size, size)``; the schedule hands
out :class:`Shape` records ``(frames, size, batch, lr_scale)``.

API::

    sched = MultigridSchedule(16, 112, 32, 30)       # long + short cycles, the paper's default
    sched.phases                                      # [Phase(first_epoch, frames, size, batch), ...]
    sched.epoch_shape(e)                              # long-cycle Shape of epoch e (build the loader)
    sched.at(e, k)                                    # Shape of step k of epoch e (short cycle)
    ShortCycleBatchSampler(sampler, sched, e)         # batches of the right sizes for epoch e
    sched.steps_per_epoch(e, n), sched.total_steps(n) # for per-step LR schedulers
    print(sched.summary()); plot_schedule(sched)

Departures from PySlowFast (each deliberate):

- Resampling is a tensor op on batches (:func:`resample_clip`), so any dataset works. PySlowFast
  re-decodes each shape: ``t`` frames at ``T/t`` times the sampling interval (our uniform index
  subsampling of a ``T``-frame clip picks the same frames when ``T/t`` is an integer) and a crop of
  size ``s`` out of frames resized by ``s/S`` (the same field of view; we bilinearly resize the
  ``S``-pixel crop with antialiasing, which filters differently). A loop can still decode at the
  long-cycle shape, ``epoch_shape(e)``, and resample only the short cycle.
- Learning rate: we return ``lr_scale`` (batch ratio) and leave the decay shape to the training
  loop's scheduler. PySlowFast replaces its LR steps by the phase boundaries (``steps_with_relative_
  lrs``: ``gamma**stage * b/B``, with the final phase's second half one more decay down); the same
  numbers are available as :meth:`MultigridSchedule.stepwise_lr_factor` and
  :attr:`MultigridSchedule.lr_decay_epochs`. As in PySlowFast, the short cycle's larger batches keep
  the long-cycle LR by default; ``short_lr_scaling=True`` applies the linear rule per step too.
- ``epoch_factor`` defaults to 1.0 (PySlowFast: 1.5), so ``epochs`` is the number you train.
- LR stages are given as fractions of training (``lr_steps``, default ``(0.5, 0.75)``: the decays
  of ``actionrec.train``'s "step" scheduler) instead of PySlowFast's ``SOLVER.STEPS`` epochs; only
  their ratios matter. For a cosine schedule they just say how many long cycles to run.
- The average batch of a phase is the mean of its rounded short-cycle batch multipliers (PySlowFast
  rounds unrounded sizes; equal for the default factors). Phases that round to zero epochs are
  dropped, and the final phase always keeps at least one epoch.
- ``final_short=True`` (default) keeps the short cycle in the final phase as PySlowFast does;
  ``False`` trains it at the base shape only.
- Not reproduced: PySlowFast's BatchNorm changes (sub-batch / sync BN over ``BN_BASE_SIZE=8``
  clips; a model concern) and its evaluation-frequency rule (``EVAL_FREQ``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, NamedTuple, Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import Sampler

__all__ = [
    "LONG_CYCLE_FACTORS",
    "SHORT_CYCLE_FACTORS",
    "Shape",
    "Phase",
    "MultigridSchedule",
    "ShortCycleBatchSampler",
    "resample_clip",
    "plot_schedule",
]

LONG_CYCLE_FACTORS: tuple[tuple[float, float], ...] = ((0.25, 0.5**0.5), (0.5, 0.5**0.5), (0.5, 1.0), (1.0, 1.0))
"""(temporal, spatial) factors of the long cycle, coarse to fine (PySlowFast's defaults)."""
SHORT_CYCLE_FACTORS: tuple[float, ...] = (0.5, 0.5**0.5)
"""Extra spatial sizes of the short cycle, relative to the base size (PySlowFast's defaults)."""


@dataclass(frozen=True)
class Shape:
    """One mini-batch shape: ``batch`` clips of ``frames x size x size``; lr multiplier ``lr_scale``."""

    frames: int
    size: int
    batch: int
    lr_scale: float


class Phase(NamedTuple):
    """One long-cycle phase: from ``first_epoch`` on, the loader's shape is ``frames x size²`` x ``batch``."""

    first_epoch: int
    frames: int
    size: int
    batch: int


@dataclass(frozen=True)
class _PhaseInfo:
    first_epoch: int
    end_epoch: int  # exclusive
    stage: int  # LR stage index; the final phase has stage == number of long-cycle stages
    final: bool
    cycle: tuple[Shape, ...]  # short-cycle shapes in step order; the last one is the long-cycle shape


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name}={value!r} must be an int >= {minimum}")
    return value


def _check_factor(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"{name} has {value!r}; every factor must be a number in (0, 1]")
    return float(value)


class MultigridSchedule:
    """The multigrid schedule for a base shape ``base_frames x base_size²`` with ``base_batch`` clips.

    Args:
        base_frames, base_size, base_batch: the shape (and global batch) a plain run would train with;
            the final phase and evaluation use it.
        epochs: epochs of the multigrid run (times ``epoch_factor``).
        long, short: enable the long cycle (per-epoch shapes) / short cycle (per-step sizes).
        long_factors: (temporal, spatial) factors in (0, 1], coarse to fine; end with ``(1, 1)``.
        short_factors: spatial factors in (0, 1) of the extra short-cycle sizes.
        lr_steps: increasing fractions in (0, 1) where the LR schedule decays; each stage before
            the last decay gets one long cycle, the last stage becomes the final phase.
        epoch_factor: multiply ``epochs`` (the paper/PySlowFast use 1.5 with the long cycle).
        final_short: keep the short cycle during the final phase (PySlowFast does).
        short_lr_scaling: scale the LR with the short cycle's batch too (PySlowFast does not).
        min_frames, min_size: the smallest clip the model accepts; a schedule needing less raises.

    Attributes: ``epochs`` (total), ``phases`` (list of :class:`Phase`), ``final_epoch`` (first epoch
    of the final phase, None without the long cycle), ``lr_decay_epochs``.
    """

    def __init__(self, base_frames: int, base_size: int, base_batch: int, epochs: int, *, long: bool = True,
                 short: bool = True, long_factors: Sequence[tuple[float, float]] = LONG_CYCLE_FACTORS,
                 short_factors: Sequence[float] = SHORT_CYCLE_FACTORS, lr_steps: Sequence[float] = (0.5, 0.75),
                 epoch_factor: float = 1.0, final_short: bool = True, short_lr_scaling: bool = False,
                 min_frames: int = 1, min_size: int = 1):
        self.base_frames = _check_int("base_frames", base_frames, 1)
        self.base_size = _check_int("base_size", base_size, 1)
        self.base_batch = _check_int("base_batch", base_batch, 1)
        _check_int("epochs", epochs, 1)
        for name, flag in (("long", long), ("short", short), ("final_short", final_short),
                           ("short_lr_scaling", short_lr_scaling)):
            if not isinstance(flag, bool):
                raise ValueError(f"{name}={flag!r} must be True or False")
        if isinstance(epoch_factor, bool) or not isinstance(epoch_factor, (int, float)) or not epoch_factor > 0:
            raise ValueError(f"epoch_factor={epoch_factor!r} must be a number > 0 (PySlowFast uses 1.5)")
        self.epochs = int(round(epochs * epoch_factor))
        if self.epochs < 1:
            raise ValueError(f"epochs * epoch_factor = {epochs} * {epoch_factor} rounds to {self.epochs} epochs; "
                             "raise epochs or epoch_factor")
        self.min_frames = _check_int("min_frames", min_frames, 1)
        self.min_size = _check_int("min_size", min_size, 1)
        self.long, self.short = long, short
        self.final_short, self.short_lr_scaling = final_short, short_lr_scaling
        self.long_factors = self._long_factors(long_factors)
        self.short_factors = tuple(_check_factor("short_factors", f) for f in short_factors) if short else ()
        if short and not self.short_factors:
            raise ValueError("short_factors is empty; give spatial factors such as (0.5, 0.5**0.5) or pass short=False")
        self.lr_steps = self._lr_steps(lr_steps)
        self._phases = self._build()

    # ------------------------------------------------------------------ construction
    @staticmethod
    def _long_factors(factors) -> tuple[tuple[float, float], ...]:
        try:
            out = tuple((_check_factor("long_factors", ft), _check_factor("long_factors", fs)) for ft, fs in factors)
        except (TypeError, ValueError) as e:
            raise ValueError(f"long_factors={factors!r} must be (temporal, spatial) pairs in (0, 1]: {e}") from None
        if not out or out[-1] != (1.0, 1.0):
            raise ValueError(f"long_factors={factors!r} must be non-empty and end with (1, 1), the base shape")
        return out

    @staticmethod
    def _lr_steps(steps) -> tuple[float, ...]:
        try:
            out = tuple(float(s) for s in steps)
        except (TypeError, ValueError):
            raise ValueError(f"lr_steps={steps!r} must be a sequence of fractions in (0, 1)") from None
        if not out or any(not 0 < s < 1 for s in out) or any(a >= b for a, b in zip(out, out[1:])):
            raise ValueError(f"lr_steps={steps!r} must be strictly increasing fractions in (0, 1), at least one "
                             "(e.g. (0.5, 0.75): LR decays at 1/2 and 3/4 of training)")
        return out

    def _shape(self, frames: int, size: int, mult: int, lr_mult: float) -> Shape:
        return Shape(frames=frames, size=size, batch=self.base_batch * mult, lr_scale=float(lr_mult))

    def _cycle(self, ft: float, fs: float, *, short: bool) -> tuple[Shape, ...]:
        """Short-cycle shapes for long-cycle factors ``(ft, fs)``; the last one is the long-cycle shape."""
        frames, size = int(round(self.base_frames * ft)), int(round(self.base_size * fs))
        what = f"long_factors ({ft:.3g}, {fs:.3g})"
        self._check_shape(frames, size, what)
        base_voxels = self.base_frames * self.base_size**2
        mult = max(1, int(round(base_voxels / (frames * size**2))))  # b/B, so that b*t*s² ≈ B*T*S²
        cycle = []
        for f in self.short_factors if short else ():
            exact = self.base_size * f  # PySlowFast: DEFAULT_S * factor, rounded only for the crop
            s_k = int(round(exact))
            self._check_shape(frames, s_k, f"short_factors {f:.3g} at {what}")
            k = max(1, int(round((size / exact) ** 2)))
            cycle.append(self._shape(frames, s_k, mult * k, mult * k if self.short_lr_scaling else mult))
        cycle.append(self._shape(frames, size, mult, mult))
        return tuple(cycle)

    def _check_shape(self, frames: int, size: int, what: str) -> None:
        if frames < self.min_frames:
            raise ValueError(f"base_frames={self.base_frames} is too small for {what}: it gives {frames} frames "
                             f"(< min_frames={self.min_frames}); use more base_frames, other factors or long=False")
        if size < self.min_size:
            raise ValueError(f"base_size={self.base_size} is too small for {what}: it gives {size} px "
                             f"(< min_size={self.min_size}); use a larger base_size, other factors or short/long=False")

    def _build(self) -> list[_PhaseInfo]:
        if not self.long:  # one phase at the base shape; the short cycle (if any) runs all along
            cycle = self._cycle(1.0, 1.0, short=self.short)
            return [_PhaseInfo(0, self.epochs, 0, False, cycle)]
        cycles = [self._cycle(ft, fs, short=self.short) for ft, fs in self.long_factors]
        final_cycle = self._cycle(1.0, 1.0, short=self.short and self.final_short)
        # PySlowFast get_long_cycle_schedule: within each LR stage every shape gets the same number of
        # iterations, i.e. epochs proportional to its average batch; then a final phase that saves as
        # many iterations as the rest (iteration saving = mean of the average batches).
        avg = [sum(s.batch for s in c) / len(c) / self.base_batch for c in cycles]
        bounds = (0.0,) + self.lr_steps
        raw = []  # (stage, cycle, epochs before scaling)
        for stage, (a, b) in enumerate(zip(bounds, bounds[1:])):
            for c, m in zip(cycles, avg):
                raw.append((stage, c, (b - a) * m / sum(avg)))
        saving = sum(avg) / len(avg)
        final_avg = sum(s.batch for s in final_cycle) / len(final_cycle) / self.base_batch
        raw.append((len(bounds) - 1, final_cycle, (1.0 - bounds[-1]) / saving * final_avg))
        scale = self.epochs / sum(r[2] for r in raw)
        ends, acc = [], 0.0
        for r in raw:
            acc += r[2] * scale
            ends.append(int(round(acc)))
        ends[-1] = self.epochs
        ends = [min(e, self.epochs - 1) for e in ends[:-1]] + [self.epochs]  # final phase keeps >= 1 epoch
        out, start = [], 0
        for (stage, c, _), end in zip(raw, ends):
            if end > start:
                out.append(_PhaseInfo(start, end, stage, stage == len(bounds) - 1, c))
                start = end
        return out

    # ------------------------------------------------------------------ queries
    @property
    def phases(self) -> list[Phase]:
        """Long-cycle phases ``(first_epoch, frames, size, batch)`` in order (each >= 1 epoch)."""
        return [Phase(p.first_epoch, p.cycle[-1].frames, p.cycle[-1].size, p.cycle[-1].batch) for p in self._phases]

    @property
    def final_epoch(self) -> int | None:
        """First epoch of the final (base-shape) phase; None without the long cycle."""
        return self._phases[-1].first_epoch if self.long else None

    def _phase(self, epoch: int) -> _PhaseInfo:
        if isinstance(epoch, bool) or not isinstance(epoch, int) or not 0 <= epoch < self.epochs:
            raise ValueError(f"epoch={epoch!r} must be an int in [0, {self.epochs}) (0-based; the schedule has "
                             f"{self.epochs} epochs)")
        for p in self._phases:
            if epoch < p.end_epoch:
                return p
        raise AssertionError("unreachable")  # pragma: no cover

    def cycle(self, epoch: int) -> tuple[Shape, ...]:
        """The short-cycle shapes of ``epoch`` in step order (one shape when there is no short cycle)."""
        return self._phase(epoch).cycle

    def epoch_shape(self, epoch: int) -> Shape:
        """The long-cycle shape of ``epoch`` (no short cycle): what to build the epoch's loader with."""
        return self._phase(epoch).cycle[-1]

    def at(self, epoch: int, step: int) -> Shape:
        """Shape of step ``step`` (0-based, within the epoch) of ``epoch``: long-cycle frames, short-cycle size.

        The short cycle restarts at every epoch, as PySlowFast's sampler does. A global step index
        also works (the cycle then starts elsewhere in each epoch), but ``ShortCycleBatchSampler``
        and ``steps_per_epoch`` count steps within the epoch.
        """
        c = self._phase(epoch).cycle
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step={step!r} must be an int >= 0 (the step's index within the epoch)")
        return c[step % len(c)]

    def samples_before(self, epoch: int, step: int) -> int:
        """Samples consumed by steps ``0 .. step-1`` of ``epoch`` (to resume a sampler mid-epoch)."""
        c = self.cycle(epoch)
        _check_int("step", step, 0)
        full, rest = divmod(step, len(c))
        return full * sum(s.batch for s in c) + sum(s.batch for s in c[:rest])

    def steps_per_epoch(self, epoch: int, num_samples: int, *, drop_last: bool = True, divide_by: int = 1) -> int:
        """Steps in ``epoch`` over ``num_samples`` items, batches ``at(epoch, k).batch // divide_by``.

        ``divide_by``: split each global batch over processes/accumulation steps (``num_samples`` is then
        one process's share). A last incomplete batch counts unless ``drop_last``.
        """
        _check_int("num_samples", num_samples, 0)
        sizes = [self._split(s.batch, divide_by) for s in self.cycle(epoch)]
        return _count_steps(sizes, num_samples, drop_last=drop_last)

    def total_steps(self, num_samples: int, *, drop_last: bool = True, divide_by: int = 1) -> int:
        """Steps over the whole schedule (for per-step LR schedulers)."""
        return sum(self.steps_per_epoch(e, num_samples, drop_last=drop_last, divide_by=divide_by)
                   for e in range(self.epochs))

    @staticmethod
    def _split(batch: int, divide_by: int) -> int:
        _check_int("divide_by", divide_by, 1)
        if batch % divide_by:
            raise ValueError(f"batch {batch} of the schedule is not divisible by divide_by={divide_by} "
                             "(world_size * accum_steps); choose a base_batch divisible by it")
        return batch // divide_by

    @property
    def lr_decay_epochs(self) -> list[int]:
        """Epochs where PySlowFast's stepwise LR decays under this schedule: the first epoch of each LR
        stage after the first, and the middle of the final phase (which stands for the last stage)."""
        if not self.long:  # PySlowFast scales the steps by EPOCH_FACTOR only
            return [int(round(s * self.epochs)) for s in self.lr_steps]
        firsts = {}
        for p in self._phases:
            firsts.setdefault(p.stage, p.first_epoch)
        final = self._phases[-1]
        out = [firsts[s] for s in sorted(firsts) if s > 0 and not (s == final.stage and final.final)]
        return out + [(final.first_epoch + final.end_epoch) // 2]

    def stepwise_lr_factor(self, epoch: int, step: int = 0, *, gamma: float = 0.1) -> float:
        """PySlowFast's multigrid LR multiplier ``gamma ** (decays so far) * lr_scale`` at (epoch, step)."""
        shape = self.at(epoch, step)
        return gamma ** sum(epoch >= d for d in self.lr_decay_epochs) * shape.lr_scale

    def epoch_cost(self, epoch: int) -> float:
        """Compute of ``epoch`` relative to one base-shape epoch (cost per clip ∝ frames * size²)."""
        c = self.cycle(epoch)
        per_clip = sum(s.batch * s.frames * s.size**2 for s in c) / sum(s.batch for s in c)
        return per_clip / (self.base_frames * self.base_size**2)

    def relative_cost(self) -> float:
        """The whole schedule's compute in base-shape epochs (a plain run of ``epochs`` costs ``epochs``)."""
        return sum(self.epoch_cost(p.first_epoch) * (p.end_epoch - p.first_epoch) for p in self._phases)

    def summary(self) -> str:
        """A table of the phases: epochs, shape, batch, lr scale, short cycle and relative cost."""
        head = (f"Multigrid schedule: base {self.base_frames}x{self.base_size}² batch {self.base_batch}, "
                f"{self.epochs} epochs, long={self.long}, short={self.short}")
        rows = [head, f"{'epochs':>9} {'stage':>5} {'frames':>6} {'size':>4} {'batch':>5} {'lr x':>5}  "
                      f"{'short cycle (size/batch)':<26} {'cost/ep':>7} {'steps/ep':>8}"]
        for p in self._phases:
            ls = p.cycle[-1]
            sc = " ".join(f"{s.size}/{s.batch}" for s in p.cycle) if len(p.cycle) > 1 else "-"
            steps = self.base_batch * len(p.cycle) / sum(s.batch for s in p.cycle)
            stage = "final" if p.final else str(p.stage)
            rows.append(f"{p.first_epoch:>4}-{p.end_epoch - 1:<4} {stage:>5} {ls.frames:>6} {ls.size:>4} "
                        f"{ls.batch:>5} {ls.lr_scale:>5g}  {sc:<26} "
                        f"{self.epoch_cost(p.first_epoch):>7.3f} {steps:>8.3f}")
        rows.append(f"compute: {self.relative_cost():.2f} base-shape epochs for {self.epochs} epochs "
                    f"({self.epochs / self.relative_cost():.2f}x less on average per epoch); cost/ep and steps/ep are "
                    f"relative to a base-shape epoch")
        return "\n".join(rows)

    def __repr__(self) -> str:
        return (f"MultigridSchedule(base_frames={self.base_frames}, base_size={self.base_size}, "
                f"base_batch={self.base_batch}, epochs={self.epochs}, long={self.long}, short={self.short}, "
                f"phases={len(self._phases)})")


class ShortCycleBatchSampler(Sampler[list[int]]):
    """Batches of ``epoch``'s short cycle: step k has ``schedule.at(epoch, start_step + k).batch //
    divide_by`` indices drawn in order from ``sampler`` (PySlowFast's ``ShortCycleBatchSampler``).

    Use as ``DataLoader(ds, batch_sampler=ShortCycleBatchSampler(...))``; to resume mid-epoch start
    ``sampler`` after ``schedule.samples_before(epoch, step) // divide_by`` items and pass
    ``start_step=step``. The batch index tells the loop which shape to resample to.
    """

    def __init__(self, sampler, schedule: MultigridSchedule, epoch: int, *, drop_last: bool = True,
                 start_step: int = 0, divide_by: int = 1):
        if not isinstance(schedule, MultigridSchedule):
            raise ValueError(f"schedule must be a MultigridSchedule, got {type(schedule).__name__}")
        self.sampler, self.schedule, self.epoch = sampler, schedule, epoch
        self.drop_last, self.start_step = drop_last, _check_int("start_step", start_step, 0)
        cycle = schedule.cycle(epoch)
        self.sizes = [schedule._split(s.batch, divide_by) for s in cycle]

    def _size(self, k: int) -> int:
        return self.sizes[(self.start_step + k) % len(self.sizes)]

    def __iter__(self) -> Iterator[list[int]]:
        k, batch = 0, []
        for idx in self.sampler:
            batch.append(int(idx))
            if len(batch) == self._size(k):
                yield batch
                k, batch = k + 1, []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        k = self.start_step % len(self.sizes)
        return _count_steps(self.sizes[k:] + self.sizes[:k], len(self.sampler), drop_last=self.drop_last)


def _count_steps(sizes: list[int], n: int, *, drop_last: bool) -> int:
    """Batches of sizes ``sizes[0], sizes[1], ...`` (cycling) that ``n`` items fill."""
    full, rest = divmod(n, sum(sizes))
    steps = full * len(sizes)
    for b in sizes:
        if rest < b:
            break
        rest, steps = rest - b, steps + 1
    return steps + (1 if rest > 0 and not drop_last else 0)


def resample_clip(x: torch.Tensor, frames: int, size: int, *, antialias: bool = True) -> torch.Tensor:
    """Resample a batch of clips ``(B, C, T, H, W)`` onto a ``frames x size x size`` grid.

    Temporal: frames ``floor(i * T / frames)`` for ``i < frames`` (uniform index subsampling from the
    first frame: the clip's time span is kept, as sampling with a ``T/frames`` times longer interval
    would; more frames than ``T`` repeat frames). Spatial: a non-square clip is centre-cropped to
    ``min(H, W)``, then bilinearly resized (``align_corners=False``; antialiased when shrinking)::

        x (B, C, T, H, W) ─→ index_select T ─→ centre crop (B, C, t, S, S) ─→ (B, C*t, S, S)
          ─→ bilinear ─→ (B, C*t, size, size) ─→ (B, C, frames, size, size)

    Returns ``x`` itself when nothing changes. Pure tensor ops: any device, floating dtypes (no grad
    needed; the result is contiguous).
    """
    if not isinstance(x, torch.Tensor) or x.dim() != 5:
        got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a (B, C, T, H, W) tensor, got {got}")
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor (bilinear resize), got {x.dtype}; convert with x.float()")
    _check_int("frames", frames, 1)
    _check_int("size", size, 1)
    t_in = x.shape[2]
    if t_in != frames:
        idx = torch.arange(frames, device=x.device) * t_in // frames
        x = x.index_select(2, idx)  # (B, C, frames, H, W)
    h, w = x.shape[-2:]
    if h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        x = x[..., top:top + s, left:left + s]  # (B, C, frames, s, s)
    if x.shape[-1] != size:
        b, c, t, s, _ = x.shape
        y = F.interpolate(x.reshape(b, c * t, s, s),  # (B, C*t, s, s): frames as channels of a 2D resize
                          size=(size, size), mode="bilinear", align_corners=False, antialias=antialias and size < s)
        x = y.reshape(b, c, t, size, size)  # (B, C, frames, size, size)
    return x


def plot_schedule(schedule: MultigridSchedule, ax=None):
    """Plot frames, size and batch of the long cycle over epochs, relative to the base (log₂ axis).

    The band under the size line spans the short cycle's sizes; the dashed line marks the final
    phase. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    if not isinstance(schedule, MultigridSchedule):
        raise ValueError(f"schedule must be a MultigridSchedule, got {type(schedule).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    infos = schedule._phases
    edges = [p.first_epoch for p in infos] + [schedule.epochs]

    def steps(values):
        return values + values[-1:]

    base = (schedule.base_frames, schedule.base_size, schedule.base_batch)
    series = {
        f"frames (base {base[0]})": [p.cycle[-1].frames / base[0] for p in infos],
        f"size (base {base[1]} px)": [p.cycle[-1].size / base[1] for p in infos],
        f"batch (base {base[2]})": [p.cycle[-1].batch / base[2] for p in infos],
    }
    lines = {}
    for (label, vals), lw in zip(series.items(), (1.5, 3.0, 4.5)):  # widths layered: overlaps stay visible
        (lines[label],) = ax.step(edges, steps(vals), where="post", label=label, lw=lw, zorder=6 - lw)
    size_line = lines[f"size (base {base[1]} px)"]
    lo = [min(s.size for s in p.cycle) / base[1] for p in infos]
    hi = [max(s.size for s in p.cycle) / base[1] for p in infos]
    if any(a != b for a, b in zip(lo, hi)):
        ax.fill_between(edges, steps(lo), steps(hi), step="post", color=size_line.get_color(), alpha=0.2,
                        label="short-cycle sizes")
    if schedule.final_epoch is not None:
        ax.axvline(schedule.final_epoch, color="0.4", ls="--", lw=1)
        ax.annotate("final phase", (schedule.final_epoch, 1), xytext=(3, 4), textcoords="offset points",
                    fontsize=8, color="0.3")
    ax.set_yscale("log", base=2)
    ticks = sorted({v for vals in list(series.values()) + [lo] for v in vals} | {1.0})
    ticks = [t for t in ticks if abs(math.log2(t) - round(math.log2(t))) < 1e-9] or [1.0]
    ax.set_yticks(ticks)
    ax.set_yticklabels([f"{t:g}" if t >= 1 else f"1/{round(1 / t)}" for t in ticks])
    ax.set_xlim(0, schedule.epochs)
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative to base")
    ax.set_title(f"Multigrid: base {base[0]}x{base[1]}² batch {base[2]}, {schedule.relative_cost():.1f} "
                 f"base-epochs of compute for {schedule.epochs} epochs", fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, frameon=False)
    return ax
