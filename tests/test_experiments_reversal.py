"""actionrec.experiments.reversal: swaps within time-reversed class pairs, from a confusion matrix
and from a finished run's final.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from actionrec.data.synthactions import REVERSAL_PAIRS
from actionrec.experiments.reversal import add_reversal_confusion, has_reversal_pairs, reversal_confusion
from actionrec.train import FINAL_FILE


def test_reversal_confusion_counts_swaps_within_pairs():
    # 4 classes: (0, 1) reversed pair; 2, 3 unpaired. 10 clips each.
    m = [[6, 4, 0, 0],   # class 0: 4 predicted as its reverse
         [5, 5, 0, 0],   # class 1: 5 swapped
         [0, 2, 8, 0],   # class 2 confused with 1: not a swap (unpaired)
         [0, 0, 0, 10]]
    r = reversal_confusion(m, [(0, 1)])
    assert r["paired_top1"] == pytest.approx(11 / 20) and r["swapped"] == pytest.approx(9 / 20)
    assert r["other_top1"] == pytest.approx(18 / 20)
    assert reversal_confusion(torch.tensor(m), [(1, 0)]) == r  # tensors and pair order accepted
    assert math.isnan(reversal_confusion(m, [(0, 1), (2, 3)])["other_top1"])
    default = reversal_confusion([[1 if i == j else 0 for j in range(16)] for i in range(16)])  # SynthActions pairs
    assert default == {"paired_top1": 1.0, "swapped": 0.0, "other_top1": 1.0}
    with pytest.raises(ValueError, match="square"):
        reversal_confusion([[1, 2, 3], [4, 5, 6]], [(0, 1)])
    with pytest.raises(ValueError, match="disjoint pairs"):
        reversal_confusion(m, [(0, 1), (1, 2)])


def test_add_reversal_confusion_reads_final_json_and_skips_failed_rows(tmp_path):
    confusion = np.eye(16, dtype=int) * 4
    a, b = REVERSAL_PAIRS[0]
    confusion[a, a], confusion[a, b] = 1, 3  # 3 of 4 clips of class a called its reverse
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / FINAL_FILE).write_text(json.dumps({"test": {"confusion": confusion.tolist()}}))
    rows = [dict(run_dir=str(tmp_path / "ok")), dict(run_dir=str(tmp_path / "missing"), error="non-finite loss")]
    add_reversal_confusion(rows)
    assert rows[0]["swapped"] == 3 / (4 * 2 * len(REVERSAL_PAIRS)) and "swapped" not in rows[1]
    assert rows[0]["paired_top1"] == reversal_confusion(confusion)["paired_top1"]
    assert has_reversal_pairs("synthactions") and not has_reversal_pairs("ucf101")
