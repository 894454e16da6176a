"""Time-reversed class pairs: how often a classifier calls a clip by its pair's other class.

SynthActions has classes that are exact time reversals of each other (``REVERSAL_PAIRS``: e.g. a
figure moving left and the same clip played backwards). A network blind to frame order can tell
a pair apart from the other classes but not the two members of a pair, so it swaps about half of
their clips. From a test confusion matrix ``C`` (``C[i][j]`` = clips of true class i predicted
as j) and the pairs ``(a, b)``::

    paired_top1 = Σ_{i paired} C[i][i] / Σ_{i paired} Σ_j C[i][j]
    swapped     = Σ_{(a,b)} (C[a][b] + C[b][a]) / Σ_{i paired} Σ_j C[i][j]
    other_top1  = recall over the clips of the unpaired classes

:func:`add_reversal_confusion` reads the confusion a finished run stored in ``final.json``;
:func:`~actionrec.experiments.grid.train_grid` calls it with ``reversal=True``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Sequence

from ..data.synthactions import REVERSAL_PAIRS
from ..train import FINAL_FILE

__all__ = ["reversal_confusion", "has_reversal_pairs", "add_reversal_confusion"]


def reversal_confusion(confusion: Sequence[Sequence[int]] | Any, pairs: Sequence[tuple[int, int]] | None = None) -> dict[str, float]:
    """How a classifier handles time-reversed class pairs, from a test confusion matrix.

    ``confusion[i][j]`` counts clips of true class i predicted as j (``evaluate``'s ``"confusion"``,
    stored in a run's ``final.json`` under ``"test"``); ``pairs``: ``(forward, reverse)`` labels,
    default SynthActions' ``REVERSAL_PAIRS``. Returns ``{"paired_top1"}``: recall over the clips of
    paired classes, ``"swapped"``: the fraction of those clips predicted as their pair's *other*
    class (a model blind to frame order swaps about half), ``"other_top1"``: recall over the clips
    of the remaining classes (NaN if none).
    """
    if pairs is None:
        pairs = REVERSAL_PAIRS
    m = [[int(v) for v in row] for row in (confusion.tolist() if hasattr(confusion, "tolist") else confusion)]
    k = len(m)
    if k == 0 or any(len(row) != k for row in m):
        raise ValueError(f"confusion must be a square K x K matrix, got {k} rows of lengths {sorted({len(r) for r in m})}")
    partner: dict[int, int] = {}
    for a, b in pairs:
        if not (0 <= a < k and 0 <= b < k) or a == b or a in partner or b in partner:
            raise ValueError(f"pairs={list(pairs)!r} must be disjoint pairs of distinct labels in [0, {k})")
        partner[a], partner[b] = b, a
    paired = sum(sum(m[i]) for i in partner)
    other = [i for i in range(k) if i not in partner]
    n_other = sum(sum(m[i]) for i in other)
    return {
        "paired_top1": sum(m[i][i] for i in partner) / paired if paired else math.nan,
        "swapped": sum(m[i][j] for i, j in partner.items()) / paired if paired else math.nan,
        "other_top1": sum(m[i][i] for i in other) / n_other if n_other else math.nan,
    }


def has_reversal_pairs(dataset: str) -> bool:
    """Whether ``dataset`` has classes that are exact time reversals of each other (SynthActions'
    ``REVERSAL_PAIRS``); real datasets have none that are labelled as such."""
    return dataset == "synthactions"


def add_reversal_confusion(rows: Iterable[dict[str, Any]]) -> None:
    """Set ``paired_top1`` and ``swapped`` (:func:`reversal_confusion` of the test confusion matrix
    in the run's ``final.json``) on every row that has not failed."""
    for row in rows:
        if row.get("error"):
            continue
        confusion = json.loads((Path(row["run_dir"]) / FINAL_FILE).read_text())["test"]["confusion"]
        rc = reversal_confusion(confusion)
        row["paired_top1"], row["swapped"] = rc["paired_top1"], rc["swapped"]
