"""actionrec.train.evaluate: clip-level metrics on hand-made logits, and multi-view testing (softmax
scores averaged per video, checked by hand; sharded over two gloo processes equals one process)."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from actionrec.train.evaluate import evaluate, evaluate_views

pytestmark = pytest.mark.usefixtures("one_thread")


def test_evaluate_on_hand_made_logits():
    # The "model" is the identity: inputs are the logits. 7 classes, class 6 never occurs.
    logits = torch.tensor([
        [9, 8, 7, 6, 5, 4, 0],  # y=0: top1 right
        [9, 8, 7, 6, 5, 4, 0],  # y=1: top1 wrong (pred 0), in top5
        [9, 8, 7, 6, 5, 4, 0],  # y=5: top1 wrong (pred 0), not in top5 (rank 6)
        [0, 1, 9, 2, 3, 4, 5],  # y=2: right
        [0, 1, 2, 9, 3, 4, 5],  # y=2: wrong (pred 3), in top5
        [5, 0, 0, 0, 0, 0, 0],  # y=4: wrong (pred 0); top5 = {0, 1..4 tie}: torch picks lowest indices
    ], dtype=torch.float32)
    y = torch.tensor([0, 1, 5, 2, 2, 4])
    loader = [(logits[:4], y[:4]), (logits[4:], y[4:])]
    m = evaluate(nn.Identity(), loader, device="cpu", num_classes=7)
    top5 = logits.topk(5, dim=1).indices
    expected_top5 = (top5 == y[:, None]).any(1).float().mean().item()
    assert m["n"] == 6
    assert m["top1"] == pytest.approx(2 / 6)
    assert m["top5"] == pytest.approx(expected_top5)
    assert m["loss"] == pytest.approx(F.cross_entropy(logits, y).item(), rel=1e-6)
    conf = [[0] * 7 for _ in range(7)]
    for t, p in [(0, 0), (1, 0), (5, 0), (2, 2), (2, 3), (4, 0)]:
        conf[t][p] += 1
    assert m["confusion"] == conf
    assert m["per_class"] == [1.0, 0.0, 0.5, None, 0.0, 0.0, None]


def test_evaluate_restores_train_mode_and_top5_with_few_classes():
    net = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5))
    net.train()
    m = evaluate(net, [(torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1]))], device="cpu", num_classes=3)
    assert net.training and m["top5"] == 1.0  # top-min(5, K) with K = 3 is always right


class LogitItems(Dataset):
    """Each item's 'clip' is the logit vector that the identity model returns; no video_index."""

    def __init__(self, logits, labels):
        self.x, self.y = torch.tensor(logits, dtype=torch.float32), labels
        self.num_classes = self.x.shape[1]

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class LogitViews(LogitItems):
    """LogitItems whose items are views: item i belongs to video ``videos[i]``."""

    def __init__(self, logits, labels, videos):
        super().__init__(logits, labels)
        self.v = videos

    def video_index(self, i):
        return self.v[i]


def test_evaluate_views_averages_softmax_over_each_videos_views():
    """Hand-computed: 3 videos x 2 views, 6 classes, views of a video not adjacent, batches cross videos.

    video 0 (label 0): p = [.90 .05 .05 0 0 0] and [.001 .5 .499 0 0 0] -> mean [.4505 .275 .2745 ...]
      -> predicts 0 (right), though averaging logits (geometric mean) would predict 1; view top-1: 1 of 2.
    video 1 (label 1): p = [.59 .40 .01 ...] and [.01 .44 .55 ...] -> mean [.30 .42 .28] -> predicts 1,
      the argmax of neither view (voting could not); view top-1: 0 of 2.
    video 2 (label 5): p = [.5 .2 .1 .1 .1 0] twice -> predicts 0 and class 5 ranks last: top-5 miss.
    """
    eps = 1e-9  # "zero" probabilities (log needs > 0)
    probs = {  # item index: (video, label, probabilities)
        0: (0, 0, [.90, .05, .05, eps, eps, eps]), 3: (0, 0, [.001, .5, .499, eps, eps, eps]),
        1: (1, 1, [.59, .40, .01, eps, eps, eps]), 4: (1, 1, [.01, .44, .55, eps, eps, eps]),
        2: (2, 5, [.5, .2, .1, .1, .1, eps]), 5: (2, 5, [.5, .2, .1, .1, .1, eps]),
    }
    ds = LogitViews([[math.log(p) for p in probs[i][2]] for i in range(6)], [probs[i][1] for i in range(6)],
                    [probs[i][0] for i in range(6)])
    out = evaluate_views(nn.Identity(), ds, batch_size=4, device="cpu")
    assert out["videos"] == 3 and out["views"] == 6 and out["views_per_video"] == 2
    assert math.isclose(out["top1"], 2 / 3) and math.isclose(out["top5"], 2 / 3)
    assert math.isclose(out["view_top1"], 1 / 6)
    confusion = [[0] * 6 for _ in range(6)]
    confusion[0][0] = confusion[1][1] = confusion[5][0] = 1
    assert out["confusion"] == confusion
    assert out["per_class"] == [1.0, 1.0, None, None, None, 0.0]
    assert math.isclose(out["mean_class_acc"], 2 / 3)
    nll = -(math.log(.4505) + math.log(.42) + math.log(.5 * eps + .5 * eps)) / 3
    assert math.isclose(out["loss"], nll, rel_tol=1e-5)
    assert out["label_conflicts"] == 0


def test_evaluate_views_without_video_index_and_label_conflicts():
    x = [[2.0, 0.0], [0.0, 1.0], [3.0, 0.0]]
    out = evaluate_views(nn.Identity(), LogitItems(x, [0, 0, 1]), batch_size=2, device="cpu")  # item = video
    assert (out["videos"], out["top1"], out["view_top1"]) == (3, 1 / 3, 1 / 3)
    mixed = evaluate_views(nn.Identity(), LogitViews(x, [0, 0, 1], [0, 0, 0]), batch_size=2, device="cpu")
    assert mixed["videos"] == 1 and mixed["label_conflicts"] == 1 and mixed["top1"] == 1.0  # majority label 0


def test_evaluate_views_bad_arguments():
    ds = LogitViews([[1.0, 0.0]], [0], [0])
    with pytest.raises(ValueError, match="batch_size"):
        evaluate_views(nn.Identity(), ds, batch_size=0, device="cpu")
    with pytest.raises(ValueError, match="num_workers"):
        evaluate_views(nn.Identity(), ds, batch_size=1, device="cpu", num_workers=-1)
    with pytest.raises(ValueError, match="labels"):
        evaluate_views(nn.Identity(), LogitViews([[1.0, 0.0]], [2], [0]), batch_size=1, device="cpu")


DIST_LOGITS = [[1.0, 0.0, 0.5], [0.0, 2.0, 0.1], [0.3, 0.2, 0.1], [0.0, 0.1, 3.0], [2.0, 1.0, 0.0],
               [0.5, 0.5, 0.4], [0.1, 0.0, 0.9]]
DIST_LABELS, DIST_VIDEOS = [0, 1, 0, 2, 1, 0, 2], [0, 1, 0, 2, 1, 0, 2]


def _evaluate_views_rank(rank: int, world: int, store: str, out_dir: str) -> None:
    """One process of the 2-process gloo test (module level so that spawn can pickle it)."""
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        out = evaluate_views(nn.Identity(), LogitViews(DIST_LOGITS, DIST_LABELS, DIST_VIDEOS), batch_size=2,
                             device="cpu")
        with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
            json.dump(out, f)
    finally:
        torch.distributed.destroy_process_group()


def test_evaluate_views_sharded_over_two_processes_equals_one(tmp_path):
    """Under a process group each rank scores every 2nd view (7 views: ranks get 4 and 3, views of a
    video split across ranks) and the per-video sums are all-reduced: both ranks return exactly the
    single-process result."""
    one = evaluate_views(nn.Identity(), LogitViews(DIST_LOGITS, DIST_LABELS, DIST_VIDEOS), batch_size=2, device="cpu")
    torch.multiprocessing.spawn(_evaluate_views_rank, args=(2, str(tmp_path / "store"), str(tmp_path)), nprocs=2)
    for rank in (0, 1):
        got = json.loads((tmp_path / f"rank{rank}.json").read_text())
        assert got.keys() == one.keys()
        for k in one:
            assert got[k] == pytest.approx(one[k], rel=1e-12) if isinstance(one[k], float) else got[k] == one[k], k
