"""Fabricated summaries for the tests of chapter helpers that take summaries (tests/test_papers_*.py)."""

from __future__ import annotations

from actionrec.experiments.summary import summarize


def summary_of(field: str, values: dict[str, list[float]], metric: str = "top1") -> list[dict]:
    """``summarize`` over fabricated rows: one row per (entry, seed) with ``field`` = the entry's key."""
    rows = [{"name": k, "seed": s, field: k, metric: v, "run_dir": f"x/{k}/seed_{s}"}
            for k, vs in values.items() for s, v in enumerate(vs)]
    return summarize(rows, by=(field,), metric=metric)


def tight(mean: float) -> list[float]:
    return [mean - 0.01, mean, mean + 0.01]  # CI half-width 2.5 points


def loose(mean: float) -> list[float]:
    return [mean - 0.08, mean, mean + 0.08]  # CI half-width 19.9 points
