"""Multigrid training: variable mini-batch shapes on a schedule (long and short cycles).

Paper: Wu, Girshick, He, Feichtenhofer & Krähenbühl, "A Multigrid Method for Efficiently Training
Video Models" (CVPR 2020, arXiv:1912.00998), Sec. 3 and Fig. 2; reference code PySlowFast
``slowfast/utils/multigrid.py`` (``get_long_cycle_schedule``), whose schedule we follow number for number.
A mini-batch ``B x T x S²`` is resampled on a coarser grid ``b x t x s²`` with the work per step kept::

    b * t * s²  ≈  B * T * S²          lr(b) = lr(B) * b / B   (linear scaling, Goyal et al. 2017)

Long cycle (per epoch): the shapes ``(round(T*ft), round(S*fs))`` of ``LONG_CYCLE_FACTORS`` are visited
coarse to fine once per LR stage (epochs between two decays), each shape getting the same number of
iterations; the last stage becomes a final phase at the base shape, sized to save as many iterations
as the rest; everything is scaled to ``epochs`` and rounded to whole epochs. Batch multipliers are
``round(T*S² / (t*s²))``, so ``b`` stays a multiple of the base (and data-parallel) batch.
Short cycle (per step, restarted every epoch): sizes ``round(S*f)`` for ``SHORT_CYCLE_FACTORS``, then
the long-cycle size ``s``; a step at size ``s_k`` takes ``round((s / (S*f))²)`` times the long-cycle batch.

    epoch e ─→ long-cycle shape epoch_shape(e) ─→ step k: at(e, k) = Shape(frames, size, batch, lr_scale)
      clips (B, C, T, H, W) ─→ resample_clip(x, frames, size) ─→ (B, C, frames, size, size) ─→ model

Departures from PySlowFast:

- Resampling is a tensor op on batches (:func:`resample_clip`: uniform frame subsampling, centre crop,
  antialiased bilinear resize), so any dataset works; PySlowFast re-decodes each shape at a longer
  sampling interval and a crop of resized frames (the same frames and field of view, filtered differently).
- The LR decay shape is left to the training loop's scheduler; ``lr_scale`` is the batch ratio. PySlowFast
  moves its LR steps to the phase boundaries: :meth:`MultigridSchedule.stepwise_lr_factor` and
  :attr:`MultigridSchedule.lr_decay_epochs` give those numbers. The short cycle keeps the long-cycle LR
  unless ``short_lr_scaling=True``.
- ``epoch_factor`` defaults to 1.0 (PySlowFast: 1.5); LR stages are fractions of training (``lr_steps``,
  default the "step" scheduler's ``(0.5, 0.75)``) instead of ``SOLVER.STEPS`` epochs.
- A phase's average batch is the mean of its rounded short-cycle multipliers (equal for the default
  factors); phases that round to zero epochs are dropped, the final phase keeps at least one epoch;
  ``final_short=False`` trains the final phase at the base shape only.
- Not reproduced: PySlowFast's sub-batch BatchNorm (a model concern) and its ``EVAL_FREQ`` rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import torch
import torch.nn.functional as F

from ..utils.checks import check_bool, check_float, check_int, fail

__all__ = [
    "LONG_CYCLE_FACTORS",
    "SHORT_CYCLE_FACTORS",
    "Shape",
    "Phase",
    "MultigridSchedule",
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


def _check_factor(name: str, value) -> float:
    """A scale factor in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        fail(name, value, "factors that are numbers in (0, 1]")
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
        self.base_frames = check_int("base_frames", base_frames, min_value=1)
        self.base_size = check_int("base_size", base_size, min_value=1)
        self.base_batch = check_int("base_batch", base_batch, min_value=1)
        check_int("epochs", epochs, min_value=1)
        for name, flag in (("long", long), ("short", short), ("final_short", final_short),
                           ("short_lr_scaling", short_lr_scaling)):
            check_bool(name, flag)
        check_float("epoch_factor", epoch_factor, positive=True)
        self.epochs = int(round(epochs * epoch_factor))
        if self.epochs < 1:
            raise ValueError(f"epochs * epoch_factor = {epochs} * {epoch_factor} rounds to {self.epochs} epochs; "
                             "raise epochs or epoch_factor")
        self.min_frames = check_int("min_frames", min_frames, min_value=1)
        self.min_size = check_int("min_size", min_size, min_value=1)
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
        also works (the cycle then starts elsewhere in each epoch), but ``steps_per_epoch`` and the
        training loop count steps within the epoch.
        """
        c = self._phase(epoch).cycle
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ValueError(f"step={step!r} must be an int >= 0 (the step's index within the epoch)")
        return c[step % len(c)]

    def steps_per_epoch(self, epoch: int, num_samples: int, *, drop_last: bool = True, divide_by: int = 1) -> int:
        """Steps in ``epoch`` over ``num_samples`` items, batches ``at(epoch, k).batch // divide_by``.

        ``divide_by``: split each global batch over processes/accumulation steps (``num_samples`` is then
        one process's share). A last incomplete batch counts unless ``drop_last``.
        """
        check_int("num_samples", num_samples, min_value=0)
        sizes = [self._split(s.batch, divide_by) for s in self.cycle(epoch)]
        return _count_steps(sizes, num_samples, drop_last=drop_last)

    def total_steps(self, num_samples: int, *, drop_last: bool = True, divide_by: int = 1) -> int:
        """Steps over the whole schedule (for per-step LR schedulers)."""
        return sum(self.steps_per_epoch(e, num_samples, drop_last=drop_last, divide_by=divide_by)
                   for e in range(self.epochs))

    @staticmethod
    def _split(batch: int, divide_by: int) -> int:
        check_int("divide_by", divide_by, min_value=1)
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
    check_int("frames", frames, min_value=1)
    check_int("size", size, min_value=1)
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
