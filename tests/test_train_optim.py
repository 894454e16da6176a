"""actionrec.train.optim: the LR schedule's shape, and multigrid's schedule over the clips seen."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from actionrec.train.loaders import plan_epochs
from actionrec.train.optim import build_multigrid_scheduler, lr_factor
from train_helpers import tiny_cfg


def test_lr_schedule_shapes():
    kw = dict(total_steps=100, warmup_steps=10)
    assert lr_factor(0, scheduler="cosine", **kw) == pytest.approx(0.1)
    assert lr_factor(9, scheduler="cosine", **kw) == pytest.approx(1.0)
    assert lr_factor(10, scheduler="cosine", **kw) == pytest.approx(1.0)
    assert lr_factor(55, scheduler="cosine", **kw) == pytest.approx(0.5)
    assert lr_factor(100, scheduler="cosine", **kw) == pytest.approx(0.0)
    assert [lr_factor(s, scheduler="step", **kw) for s in (10, 54, 55, 77, 78)] == pytest.approx([1, 1, 0.1, 0.1, 0.01])
    assert lr_factor(99, scheduler="none", **kw) == 1.0


def test_multigrid_lr_schedule_spans_the_same_epochs():
    """Warm-up/cosine run over clips seen: at the same clip count the factor equals the plain run's."""
    cfg = tiny_cfg(multigrid="long", epochs=4, batch_size=4, train_samples=96, warmup_steps=5)
    plan = plan_epochs(cfg, torch.utils.data.TensorDataset(torch.zeros(96, 3, 8, 16, 16), torch.zeros(96)), 1)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = build_multigrid_scheduler(opt, cfg, plan)
    flat = [s for e in plan.shapes for s in e]
    seen, plain_total = 0, 4 * 96 // 4
    for s in flat:
        lr = sched.get_last_lr()[0]
        assert lr == pytest.approx(s.lr_scale * lr_factor(seen / 4, total_steps=plain_total, warmup_steps=5,
                                                           scheduler="cosine"))
        seen += s.batch
        opt.step()
        sched.step()
    assert seen == 4 * 96 and sched.get_last_lr()[0] == pytest.approx(0.0)
