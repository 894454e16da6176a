"""benchmarks/speed.py: the lower-bound probes keep the short stream exact and drop only long-stream work."""

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import speed  # noqa: E402

from actionrec.layers.mtconv import MTConv  # noqa: E402
from actionrec.models import build_model  # noqa: E402
from actionrec.models.mtnet import MTShortcut  # noqa: E402


def _pair(net, x):
    net.eval()
    with torch.no_grad():
        return net.forward_features(x)


def test_free_long_keeps_the_short_stream_and_zeroes_the_long_one(one_thread):
    torch.manual_seed(0)
    real = build_model("mtnet32", num_classes=4, r=0.875, width=0.25, recurrent=None)
    probe = build_model("mtnet32", num_classes=4, r=0.875, width=0.25, recurrent=None)
    probe.load_state_dict(real.state_dict())
    speed.free_long(probe, shortcuts=True)
    assert all(type(m) is not MTConv and type(m) is not MTShortcut for m in probe.modules())
    x = torch.randn(2, 3, 16, 32, 32)
    (s_real, l_real), (s_probe, l_probe) = _pair(real, x), _pair(probe, x)
    # without SR the short stream never reads the long one: exact; the long stream is zeros of its shape
    torch.testing.assert_close(s_probe, s_real, rtol=0, atol=0)
    assert l_probe.shape == l_real.shape and not l_probe.any() and l_real.any()


def test_free_long_without_shortcuts_swaps_only_mtconvs(one_thread):
    net = speed.free_long(build_model("mtnet32", num_classes=4, r=0.875, width=0.25), shortcuts=False)
    kinds = {type(m) for m in net.modules()}
    assert speed._FreeLongMTConv in kinds and MTShortcut in kinds and MTConv not in kinds
    out = net(torch.randn(2, 3, 16, 32, 32))
    out.sum().backward()  # trains: the short stream's weights get gradients
    assert net.stages[0][1].conv1.conv_s.weight.grad is not None


def test_bounds_prints_every_variant(one_thread, capsys):
    res = speed.bounds(model="mtnet32", width=0.25, clip=(16, 32, 32), batch=2, warmup=0, reps=1)
    assert set(res) == {"r=0.875", "r=0.875, MTConv long paths free", "r=1",
                        "r=0.875 short stream only, no SR", "r=1, no SR"}
    out = capsys.readouterr().out
    assert "short stream alone / r=1 (no SR)" in out and "0.86x the MACs" in out


def test_channels_table_needs_the_reference(one_thread, capsys):
    rows = speed.channels(clip=(16, 32, 32), batch=2, counts=(8, 16), reps=1)
    assert set(rows) == {8, 16} and all(t > 0 for pair in rows.values() for t in pair)
    assert "(2, C, 16, 8, 8)" in capsys.readouterr().out

    with pytest.raises(ValueError, match="must include 16"):
        speed.channels(clip=(16, 32, 32), batch=2, counts=(8,), reps=1)
