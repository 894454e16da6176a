"""actionrec.train.fingerprint: the record is a pure function of the code, config and seed; it changes
under behaviour changes (MTConv's lateral scaled by 0.5 before or after its BatchNorm, a loss change,
a renamed parameter attribute) and not under a refactor (an equivalent function under another name) or
another thread count; it leaves the random generators and the run itself untouched; fit writes it when
a run starts and keeps it on resume; records from torch's scalar CPU kernels match the vectorised ones."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from actionrec.layers import mtconv as M
from actionrec.models import MODELS
from actionrec.train import fit, loop
from actionrec.train.fingerprint import (FINGERPRINT_FILE, LOSS_TOL, STEP_RTOL, code_fingerprint, read_fingerprint,
                                         same_fingerprint, short_hash)

from train_helpers import NoBNNet, assert_same_weights, metric_lines, tiny_cfg, weights

pytestmark = pytest.mark.usefixtures("one_thread")


def mtnet_cfg(**overrides):
    """MTNet-32 at r = 0.75 (a long stream, so laterals), width 0.125 on 16 x 32 x 32 clips, batch 8."""
    return tiny_cfg(**{**dict(model="mtnet32", model_kwargs={"r": 0.75, "width": 0.125},
                              dataset_kwargs={"frames": 16, "size": 32, "difficulty": "easy"},
                              train_samples=16, batch_size=8), **overrides})


def test_fingerprint_is_a_function_of_code_config_and_seed():
    cfg = tiny_cfg()
    a, b = code_fingerprint(cfg), code_fingerprint(cfg)
    assert a == b and len(a["hash"]) == 16 and short_hash(a) == a["hash"][:8] and short_hash(None) == "unknown"
    assert same_fingerprint(a, b)
    # runtime fields do not enter; the seed, the data and the optimiser-free settings that reach step 1 do
    assert code_fingerprint(replace(cfg, device="cpu", num_workers=0, cache_data=False))["hash"] == a["hash"]
    other_seed = code_fingerprint(replace(cfg, seed=1))
    assert other_seed["structure"] == a["structure"] and other_seed["init"] != a["init"]
    assert not same_fingerprint(a, other_seed)
    other_data = code_fingerprint(replace(cfg, data_seed=3))
    assert other_data["init"] == a["init"] and not same_fingerprint(a, other_data)
    # the epoch-0 order is part of it: another batch size sees other clips first
    assert not same_fingerprint(a, code_fingerprint(replace(cfg, batch_size=8)))
    # an optimiser setting does not reach the first forward/backward (it is in the config tag instead)
    assert code_fingerprint(replace(cfg, lr=1e-4))["hash"] == a["hash"]


def _lateral_after_bn(scale):
    def forward(self, x):
        x_s, x_l = x
        y_s = self.act(self.bn_s(M.conv1x1x1(self.conv_s, x_s)))
        if not self.has_long:
            return y_s, None
        y_l = self.bn_l(M.conv1x1x1(self.conv_l, x_l)) + scale * self.bn_s2l(self.lateral(x_s))
        return y_s, self.act(y_l)
    return forward


def test_fingerprint_changes_under_a_behaviour_change_not_under_a_refactor(monkeypatch):
    cfg = mtnet_cfg()
    base = code_fingerprint(cfg)
    lateral = M.MTConv.lateral

    # refactor: the same computation under another function name, through a renamed helper
    def renamed_helper(module, stream):
        return lateral(module, stream)

    def lateral_connection(self, x_s):
        return renamed_helper(self, x_s)

    monkeypatch.setattr(M.MTConv, "lateral", lateral_connection)
    assert code_fingerprint(cfg)["hash"] == base["hash"]
    monkeypatch.setattr(M.MTConv, "forward", _lateral_after_bn(1.0))  # the forward rewritten, same values
    assert code_fingerprint(cfg)["hash"] == base["hash"]

    # behaviour: the lateral scaled by 0.5 after its BatchNorm (the first loss barely moves; gradients do)
    monkeypatch.setattr(M.MTConv, "forward", _lateral_after_bn(0.5))
    after = code_fingerprint(cfg)
    assert after["structure"] == base["structure"] and after["init"] == base["init"]
    assert not same_fingerprint(base, after)
    # ... and before it: a train-mode BatchNorm normalises the scale away, but its running variance moves
    monkeypatch.setattr(M.MTConv, "forward", _lateral_after_bn(1.0))
    monkeypatch.setattr(M.MTConv, "lateral", lambda self, x_s: 0.5 * lateral(self, x_s))
    before = code_fingerprint(cfg)
    assert before["first_loss"] == pytest.approx(base["first_loss"], abs=LOSS_TOL)
    assert not same_fingerprint(base, before)
    assert not same_fingerprint({**base, "hash": ""}, {**before, "grad_stats": base["grad_stats"]})  # buffers alone


def test_fingerprint_sees_a_loss_change(monkeypatch):
    cfg = tiny_cfg()
    base = code_fingerprint(cfg)
    real_ce = F.cross_entropy
    monkeypatch.setattr(F, "cross_entropy", lambda *a, **k: real_ce(*a, **{**k, "label_smoothing": 0.1}))
    changed = code_fingerprint(cfg)
    assert changed["init"] == base["init"] and abs(changed["first_loss"] - base["first_loss"]) > LOSS_TOL
    assert not same_fingerprint(base, changed)


class RenamedNoBNNet(NoBNNet):
    """NoBNNet with its classifier under another attribute name (``head`` for ``fc``): same values."""

    def __init__(self, *, num_classes: int, width: int = 8):
        super().__init__(num_classes=num_classes, width=width)
        self.head = self.fc
        del self.fc

    def forward_head(self, feats):
        return self.head(feats)


def test_renaming_a_parameter_attribute_changes_the_structure(monkeypatch):
    monkeypatch.setitem(MODELS, "nobn_net", lambda **kw: NoBNNet(**kw))
    a = code_fingerprint(tiny_cfg(model="nobn_net", model_kwargs={}))
    monkeypatch.setitem(MODELS, "nobn_net", lambda **kw: RenamedNoBNNet(**kw))
    b = code_fingerprint(tiny_cfg(model="nobn_net", model_kwargs={}))
    assert a["first_loss"] == b["first_loss"] and a["structure"] != b["structure"]  # state_dict keys differ
    assert not same_fingerprint(a, b)


def test_fingerprint_is_equal_across_thread_counts():
    cfg = mtnet_cfg()
    one = code_fingerprint(cfg)
    torch.set_num_threads(2)  # the one_thread fixture restores the count
    two = code_fingerprint(cfg)
    assert one["init"] == two["init"] and same_fingerprint(one, two)


def test_same_fingerprint_tolerances():
    a = code_fingerprint(tiny_cfg())
    near = json.loads(json.dumps(a))
    near["hash"] = "0" * 16  # force the comparison by parts
    near["first_loss"] += 0.5 * LOSS_TOL
    near["grad_stats"][0] = [v * (1 + 0.25 * STEP_RTOL) for v in near["grad_stats"][0]]
    assert same_fingerprint(a, near)
    for key, bump in [("first_loss", lambda r: r["first_loss"] + 3 * LOSS_TOL),
                      ("grad_stats", lambda r: [[v * (1 + 4 * STEP_RTOL) for v in r["grad_stats"][0]]]
                       + r["grad_stats"][1:]),
                      ("buffer_stats", lambda r: [[2 * v for v in r["buffer_stats"][0]]] + r["buffer_stats"][1:]),
                      ("init_stats", lambda r: [[v * 1.001 for v in r["init_stats"][0]]] + r["init_stats"][1:]),
                      ("structure", lambda r: "f" * 16), ("version", lambda r: 0)]:
        far = {**near, key: bump(near)}
        assert not same_fingerprint(a, far), key
    assert not same_fingerprint(a, None) and not same_fingerprint(None, None)


def test_fingerprint_leaves_the_random_generators_and_the_run_unchanged(tmp_path, monkeypatch):
    cfg = tiny_cfg(model_kwargs={"width": 0.125, "dropout": 0.5}, epochs=2)  # dropout draws in the first forward
    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(7)
    before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    code_fingerprint(cfg)
    after = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    assert torch.equal(before[0], after[0]) and np.array_equal(before[1], after[1]) and before[2] == after[2]

    res = fit(cfg, tmp_path / "with", progress=False)
    monkeypatch.setattr(loop, "code_fingerprint", lambda cfg, train_ds=None: {"hash": "none"})
    res_without = fit(cfg, tmp_path / "without", progress=False)
    assert_same_weights(weights(tmp_path / "with"), weights(tmp_path / "without"))
    assert metric_lines(tmp_path / "with") == metric_lines(tmp_path / "without")
    assert res["top1"] == res_without["top1"] and res["test"]["loss"] == res_without["test"]["loss"]


def test_fit_writes_the_fingerprint_at_the_start_and_keeps_it_on_resume(tmp_path):
    cfg = tiny_cfg(epochs=2)
    fit(cfg, tmp_path, progress=False, stop_after_epoch=1)
    written = read_fingerprint(tmp_path)
    assert written == code_fingerprint(cfg)  # the rendered split of fit and the unrendered one agree exactly
    record = json.loads((tmp_path / FINGERPRINT_FILE).read_text())
    record["note"] = "written by the first session"
    (tmp_path / FINGERPRINT_FILE).write_text(json.dumps(record))
    fit(cfg, tmp_path, progress=False)  # resumes: the run keeps the record it started with
    assert read_fingerprint(tmp_path)["note"] == "written by the first session"
    assert read_fingerprint(tmp_path / "missing") is None


def test_fingerprint_matches_across_cpu_kernels(tmp_path):
    """Another process on torch's scalar kernels (``ATEN_CPU_CAPABILITY=default``, as on a CPU without
    AVX2/AVX-512): the initial weights may differ in the last bits (vectorised ``normal_``), the
    records still match within the tolerances."""
    cfg = tiny_cfg()
    here = code_fingerprint(cfg)
    script = ("import json, sys, torch; from actionrec.train import TrainConfig; "
              "from actionrec.train.fingerprint import code_fingerprint; torch.set_num_threads(1); "
              "cfg = TrainConfig.from_dict(json.loads(sys.argv[1])); "
              "print(json.dumps({'cap': torch.backends.cpu.get_cpu_capability(), 'fp': code_fingerprint(cfg)}))")
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default"}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(cfg.to_dict())], capture_output=True, text=True,
                          env=env, check=True)
    there = json.loads(done.stdout.splitlines()[-1])
    assert there["cap"] == "DEFAULT"
    assert same_fingerprint(here, there["fp"]) and here["structure"] == there["fp"]["structure"]
