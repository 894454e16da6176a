"""benchmarks/real_data_cost.py: saved-tensor accounting, meta == CPU, the table and the JSON (tiny models)."""

import json
import math
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import real_data_cost as rdc  # noqa: E402

from actionrec.analysis.complexity import count_macs, count_params  # noqa: E402
from actionrec.models import build_model  # noqa: E402


class _Square(nn.Module):
    """``fc(x * x)`` (mul saves ``x`` twice: one storage) or ``fc(x * x.clone())`` (two storages)."""

    def __init__(self, copy: bool):
        super().__init__()
        self.copy = copy
        self.fc = nn.Linear(8, 3)

    def forward(self, x):
        x = x.flatten(1)  # (B, 1, 8) -> (B, 8)
        return self.fc(x * (x.clone() if self.copy else x))


def test_saved_bytes_counts_each_storage_once_and_skips_parameters():
    x = torch.randn(2, 1, 8, requires_grad=True)
    one, two = rdc.saved_bytes(_Square(False), x), rdc.saved_bytes(_Square(True), x)
    assert two - one == x.numel() * 4  # the clone's storage, once; the shared operand counted once
    # parameters are never counted: mul saves its parameter operand, yet an (8,) scale and a (1,) one
    # (same activations) give the same bytes; counted, they would differ by 7 floats
    scaled = [_Square(False), _Square(False)]
    for m, n in zip(scaled, (8, 1)):
        m.scale = nn.Parameter(torch.ones(n))
        m.forward = lambda x, m=m: m.fc(x.flatten(1) * m.scale)  # (B, 1, 8) -> (B, 8)
    assert rdc.saved_bytes(scaled[0], x) == rdc.saved_bytes(scaled[1], x) > 0


@pytest.mark.parametrize("name", ["c3d_small", "mtnet32"])
def test_meta_equals_cpu(name, one_thread):
    """The meta device's graph saves exactly what the CPU run saves (what lets the 224² rows skip arithmetic)."""
    torch.manual_seed(0)
    cpu = build_model(name, num_classes=5, **({"width": 0.25} if name == "mtnet32" else {}))
    with torch.device("meta"):
        meta = build_model(name, num_classes=5, **({"width": 0.25} if name == "mtnet32" else {}))
    shape = (2, 3, 8, 32, 32)
    on_cpu = rdc.saved_bytes(cpu, torch.randn(shape))
    on_meta = rdc.saved_bytes(meta, torch.empty(shape, device="meta"))
    if name == "c3d_small":
        assert on_cpu == on_meta
    else:  # MTNet has a CPU-only channels_last_3d path (equal today at this size; +3.2 MB at 16x112², width 1)
        assert on_cpu == pytest.approx(on_meta, rel=0.05)


def test_row_selection_and_errors():
    rows = rdc.select_rows("mtnet32", quick=False)
    assert [r.clip for r in rows] == [(3, 16, 112, 112), (3, 16, 224, 224), (3, 16, 320, 320)]
    assert [r.clip for r in rdc.select_rows("mtnet32", quick=True)] == [(3, 16, 112, 112), (3, 16, 224, 224)]
    (ts,) = rdc.select_rows("two_stream_r50", quick=True)
    assert ts.clip == (23, 5, 224, 224) and ts.kwargs["flow_channels"] == 20
    (tsm,) = rdc.select_rows("tsm_small@4x64", quick=True)
    assert tsm.clip == (3, 4, 64, 64) and tsm.kwargs["num_segments"] == 4
    (s,) = rdc.select_rows("r3d_18+srtg@8x32x48", quick=True)
    assert s.clip == (3, 8, 32, 48) and s.kwargs["srtg"] == "final" and s.timed
    with pytest.raises(ValueError, match="unknown model 'nope'"):
        rdc.select_rows("nope", quick=True)
    with pytest.raises(ValueError, match="NAME@TxHxW"):
        rdc.select_rows("c3d_small@16", quick=True)
    with pytest.raises(ValueError, match="has no default row"):
        rdc.select_rows("c3d_small", quick=True)
    with pytest.raises(ValueError, match="'\\+srtg' applies"):
        rdc.select_rows("tsn_r50+srtg@8x32", quick=True)


def test_bad_models_flag_exits_with_message(capsys):
    with pytest.raises(SystemExit):
        rdc.main(["--models", "nope@8x32"])
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_quick_run_table_and_json(tmp_path, capsys, one_thread):
    out = tmp_path / "cost.json"
    assert rdc.main(["--models", "c3d_small@8x32,two_stream_small@4x32", "--quick", "--threads", "1",
                     "--json", str(out)]) == 0
    text = capsys.readouterr().out
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert len(table) == 3 and table[0].count("|") == table[2].count("|")  # header + 2 rows
    assert "c3d_small 3x8x32x32: equal" in text and "two_stream_small 23x4x32x32: equal" in text
    data = json.loads(out.read_text())
    assert data["assumptions"]["train_clips"] == 9537
    c3d, ts = data["rows"]
    net = build_model("c3d_small", num_classes=101)
    assert c3d["params"] == count_params(net)
    assert c3d["gmacs"] == pytest.approx(count_macs(net, (3, 8, 32, 32)) / 1e9)
    buffers = sum(b.numel() * b.element_size() for b in net.buffers())
    assert c3d["static_bytes"] == 16 * c3d["params"] + buffers
    for r in (c3d, ts):
        assert r["act_src"] == "cpu" and r["act_bytes_cpu"] == r["act_bytes_meta"] > 0
        assert r["cpu_s_per_clip"] > 0
        assert r["act_bytes_bf16_est"] == r["act_bytes"] / 2
        b24, b40, b80 = r["max_batch_bf16_est"].values()
        assert b24 <= b40 <= b80
        assert b24 == math.floor((24 * 2**30 - r["static_bytes_bf16_est"]) / r["act_bytes_bf16_est"])
        assert r["gpu_min_per_epoch_est"] == pytest.approx(9537 * 6 * r["gmacs"] * 1e9 / (0.4 * 312e12) / 60)
