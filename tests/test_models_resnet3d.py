"""r3d / r(2+1)d ResNets with SRTG placements: shapes, placements, gate use, gradients, param counts."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import functools

from actionrec.layers.srtg import PLACEMENTS, SRTGate, srt_gates
from actionrec.models import MODELS, build_model
from actionrec.models import resnet3d as R
from actionrec.models.blocks import Conv2Plus1D, tran_mid_channels
from actionrec.models.factory import get_srtg_gates
from actionrec.models.resnet3d import Bottleneck, SimpleBlock, VideoResNet

BUILDERS = ["r3d_18", "r3d_34", "r3d_50", "r3d_101", "r2plus1d_18", "r2plus1d_34", "r2plus1d_50", "r2plus1d_101"]
DEPTH_LAYERS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
SMALL = dict(num_classes=5, width=0.125)  # planes 8, 16, 32, 64 (x4 for Bottleneck)
SIMPLE_OK = ("start", "mid", "res", "final")


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _blocks(net):
    return [b for i in range(1, 5) for b in getattr(net, f"layer{i}")]


@pytest.mark.parametrize("name", BUILDERS)
def test_every_builder_layout_and_shapes_16x32x32(name):
    """Outputs and gradients of every builder: tests/test_models.py; here the layout (on meta)."""
    depth = int(name.split("_")[1])
    with torch.device("meta"):
        net = MODELS[name](**SMALL)
        feats = net.forward_features(torch.empty(2, 3, 16, 32, 32))
    c = 64 * (1 if depth < 50 else 4)  # 512 * width * expansion
    # stem /2 in H, W; stages 2-4 halve T, H, W: 16x32x32 -> 16x16x16 -> ... -> 2x2x2
    assert feats.shape == (2, c, 2, 2, 2)
    assert net.forward_head(feats, pre_logits=True).shape == (2, c)
    assert tuple(len(getattr(net, f"layer{i}")) for i in range(1, 5)) == DEPTH_LAYERS[depth]
    block = SimpleBlock if depth < 50 else Bottleneck
    assert all(type(b) is block for b in _blocks(net))
    conv = Conv2Plus1D if name.startswith("r2plus1d") else nn.Conv3d
    assert isinstance(_blocks(net)[0].conv1[0] if depth < 50 else _blocks(net)[0].conv2[0], conv)
    assert srt_gates(net) == []  # srtg=None: vanilla network


def test_registry_and_odd_sizes():
    for name in BUILDERS:
        assert MODELS[name] is getattr(R, name)
    net = build_model("r2plus1d_18", **SMALL)
    y = net(torch.randn(1, 3, 17, 33, 35))  # odd sizes: every stride rounds up (ceil), nothing hits 0
    assert y.shape == (1, 5)
    assert net.forward_features(torch.randn(1, 3, 17, 33, 35)).shape[2:] == (3, 3, 3)
    with pytest.raises(TypeError):
        R.r3d_18(5)  # keyword-only


def _gate_channels(block, placement):
    """Channels the block's gate must see (module docstring table), from the block's own convs."""
    c_in = block.conv1[0].in_channels if isinstance(block.conv1[0], nn.Conv3d) else block.conv1[0][0].in_channels
    planes = block.conv1[1].num_features
    out = planes * block.expansion
    return {"start": c_in, "top": planes, "mid": planes, "end": out, "res": out, "final": out}[placement]


CASES = [(f"{k}_{d}", p) for k in ("r3d", "r2plus1d") for d in (18, 50) for p in (SIMPLE_OK if d == 18 else PLACEMENTS)]
CASES += [("r3d_34", p) for p in SIMPLE_OK]


@pytest.mark.parametrize("name,placement", CASES)
def test_every_placement_forward_backward(name, placement):
    net = MODELS[name](srtg=placement.upper(), srtg_kwargs={"gate": "soft"}, **SMALL)  # case-insensitive
    gates = srt_gates(net)
    blocks = _blocks(net)
    assert len(gates) == len(blocks)  # one gate per residual block
    assert [n for n, _ in gates] == [f"layer{i}.{j}.srtg" for i in range(1, 5) for j in range(len(getattr(net, f"layer{i}")))]
    seen_t = []
    for block, (_, gate) in zip(blocks, gates):
        assert block.placement == placement and block.srtg is gate and gate.gate == "soft"
        assert gate.sr.rnn.input_size == _gate_channels(block, placement)
        gate.register_forward_pre_hook(lambda m, args: seen_t.append(args[0].shape[2]))
    y = net(torch.randn(2, 3, 16, 32, 32))
    F.cross_entropy(y, torch.tensor([0, 3])).backward()
    assert y.shape == (2, 5) and torch.isfinite(y).all()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    assert all(g.last is not None and g.last.open.shape == (2,) for _, g in gates)
    # frames the gated tensor has: start (before the strided conv) T_in, the others (top: conv3's input) T_out
    t_out = [16 // 2 ** i for i in range(4) for _ in range(len(getattr(net, f"layer{i + 1}")))]
    first = {sum(len(getattr(net, f"layer{k}")) for k in range(1, i)) for i in (2, 3, 4)}  # strided blocks
    expected = [t * 2 if (placement == "start" and b in first) else t for b, t in enumerate(t_out)]
    assert seen_t == expected


def _capture_gate_input(block):
    got = {}
    block.srtg.register_forward_hook(lambda m, args, out: got.update(inp=args[0].clone(), out=out.clone()))
    return got


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_gate_sits_where_fig2b_says_bottleneck(placement):
    block = Bottleneck(16, 8, stride=2, gates=get_srtg_gates(placement, {"gate": "open"}, block=Bottleneck)).eval()
    x = torch.randn(2, 16, 4, 6, 6)
    got = _capture_gate_input(block)
    with torch.no_grad():
        y = block(x)
        c1 = block.conv1(x)
        expected_input = {
            "start": x,
            "top": block.conv2(c1),  # the paper's Top: the gated tensor is conv3's input (the LSTM reads c1)
            "mid": block.conv2(c1),
            "end": block.conv3(block.conv2(c1)),
            "res": block.downsample(x),
        }
        if placement == "final":
            assert torch.equal(got["out"], y)  # the gate's output is the block's output
        else:
            assert torch.allclose(got["inp"], expected_input[placement], atol=1e-6)
    assert y.shape == (2, 32, 2, 3, 3)


def _top_hooks(block):
    """Forward hooks recording conv1's output, the LSTM's input and output, the gate's tensors and conv3's input."""
    got = {}
    block.conv1.register_forward_hook(lambda m, a, out: got.update(conv1=out.clone()))
    block.conv2.register_forward_hook(lambda m, a, out: got.update(conv2=out.clone()))
    block.srtg.sr.rnn.register_forward_hook(lambda m, a, out: got.update(lstm_in=a[0].clone(), a_star=out[0].clone()))
    block.srtg.register_forward_hook(lambda m, a, out: got.update(gated=a[0].clone(), fused=out.clone()))
    block.conv3.register_forward_pre_hook(lambda m, a: got.update(conv3_in=a[0].clone()))
    return got


@pytest.mark.parametrize("stride", [1, 2])
def test_top_lstm_reads_conv1_and_fused_features_feed_conv3(stride):
    """Sec. 3.3: "Activations of the first convolution are used by the LSTM, with fused features being
    used by the final convolution". Fails for the old reading (fusion at conv1's output, feeding conv2)."""
    block = Bottleneck(16, 8, stride=stride, gates=get_srtg_gates("top", {"gate": "open"}, block=Bottleneck)).eval()
    assert block.top_fusion == "conv3"
    got = _top_hooks(block)
    x = torch.randn(2, 16, 4, 6, 6)
    with torch.no_grad():
        block(x)
    t_in, t_out = 4, 4 // stride
    assert got["conv1"].shape[2] == t_in and got["conv3_in"].shape[2] == t_out
    # the LSTM reads conv1's output, squeezed over H, W: (B, T_in, P)
    torch.testing.assert_close(got["lstm_in"], got["conv1"].mean(dim=(3, 4)).transpose(1, 2))
    # the gate acts on conv2's output and its result is what conv3 reads
    assert torch.equal(got["gated"], got["conv2"]) and torch.equal(got["fused"], got["conv3_in"])
    assert not torch.equal(got["conv3_in"], got["conv2"])  # the open gate changed it
    # a* (B, T_in, P) average-pooled over time to T_out (pairs of frames where conv2 strides), then fused
    a = got["a_star"] if stride == 1 else (got["a_star"][:, 0::2] + got["a_star"][:, 1::2]) / 2
    torch.testing.assert_close(got["fused"], got["conv2"] * (1 + a.transpose(1, 2)[..., None, None]))
    assert block.srtg.last.a_star.shape == (2, t_out, 8) and block.srtg.last.pooled.shape == (2, t_out, 8)


def test_top_conv2_option_is_the_official_code():
    """``top_fusion="conv2"``: LSTM input and fusion both at conv1's output; the fused features feed conv2."""
    net = R.r3d_50(srtg="top", srtg_kwargs={"gate": "open"}, srtg_top_fusion="conv2", **SMALL)
    block = net.layer2[0].eval()  # strided block
    assert block.top_fusion == "conv2" and R.r3d_50(srtg="top", **SMALL).layer2[0].top_fusion == "conv3"
    got = _top_hooks(block)
    conv2_in = {}
    block.conv2.register_forward_pre_hook(lambda m, a: conv2_in.update(x=a[0].clone()))
    with torch.no_grad():
        block(torch.randn(2, block.conv1[0].in_channels, 8, 8, 8))
    assert torch.equal(got["gated"], got["conv1"]) and torch.equal(got["fused"], conv2_in["x"])
    torch.testing.assert_close(got["lstm_in"], got["conv1"].mean(dim=(3, 4)).transpose(1, 2))
    assert not torch.equal(got["fused"], got["conv3_in"])
    with pytest.raises(ValueError, match="srtg_top_fusion='conv1' is invalid"):
        R.r3d_50(srtg="top", srtg_top_fusion="conv1", **SMALL)
    with pytest.raises(ValueError, match="top_fusion"):
        Bottleneck(8, 4, top_fusion="end")


@pytest.mark.parametrize("placement", SIMPLE_OK)
def test_gate_sits_where_fig2b_says_simple(placement):
    block = SimpleBlock(8, 16, stride=2, gates=get_srtg_gates(placement, {"gate": "open"}, block=SimpleBlock)).eval()
    x = torch.randn(2, 8, 4, 6, 6)
    got = _capture_gate_input(block)
    with torch.no_grad():
        y = block(x)
        expected_input = {"start": x, "mid": block.conv1(x), "res": block.downsample(x)}
        if placement == "final":
            assert torch.equal(got["out"], y)
        else:
            assert torch.allclose(got["inp"], expected_input[placement], atol=1e-6)


@pytest.mark.parametrize("name", ["r3d_18", "r2plus1d_34"])
@pytest.mark.parametrize("placement", ["top", "end", "Top", "END"])
def test_top_end_on_simple_blocks_raise(name, placement):
    with pytest.raises(ValueError, match=placement.lower()) as e:
        MODELS[name](srtg=placement, **SMALL)
    msg = str(e.value)
    assert all(p in msg for p in SIMPLE_OK) and "Bottleneck" in msg


def test_placement_strings_resolve_to_gate_makers_once():
    gates = get_srtg_gates("Final", {"gate": "soft"}, block=SimpleBlock)
    assert list(gates) == ["final"] and gates["final"].func is SRTGate and gates["final"].keywords == {"gate": "soft"}
    assert get_srtg_gates(None, {"gate": "soft"}, block=Bottleneck) == {}
    block = Bottleneck(8, 4, gates={"top": functools.partial(SRTGate, gate="open")})
    assert block.placement == "top" and block.srtg.sr.rnn.input_size == 4 and block.srtg.gate == "open"
    with pytest.raises(ValueError, match="at most one"):
        SimpleBlock(8, 8, gates={"top": SRTGate})


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="srtg='middle'"):
        R.r3d_50(srtg="middle", **SMALL)
    with pytest.raises(ValueError, match="srtg_kwargs"):
        R.r3d_18(srtg="final", srtg_kwargs={"gates": "soft"}, **SMALL)
    with pytest.raises(ValueError, match="srtg_kwargs"):
        R.r3d_18(srtg="final", srtg_kwargs=["soft"], **SMALL)
    with pytest.raises(ValueError, match="gate"):
        R.r3d_18(srtg="final", srtg_kwargs={"gate": "ajar"}, **SMALL)
    with pytest.raises(ValueError, match="width"):
        R.r3d_18(width=0)
    with pytest.raises(ValueError, match="num_classes"):
        R.r3d_18(num_classes=0)
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        R.r3d_18(**SMALL)(torch.randn(3, 16, 32, 32))


@pytest.mark.parametrize("name,placement", [("r3d_18", p) for p in SIMPLE_OK] + [("r2plus1d_50", p) for p in PLACEMENTS])
def test_recurrent_path_is_used_when_open_and_ignored_when_closed(name, placement):
    """Perturbing one LSTM weight changes the logits iff the gate is open."""
    x = torch.randn(2, 3, 16, 32, 32)
    outs = {}
    for gate in ("open", "closed"):
        torch.manual_seed(1)
        net = MODELS[name](srtg=placement, srtg_kwargs={"gate": gate}, **SMALL).eval()
        with torch.no_grad():
            before = net(x)
            lstm = srt_gates(net)[0][1].sr.rnn  # the first block's gate: feeds everything after it
            lstm.weight_hh_l1.add_(0.5 * torch.randn_like(lstm.weight_hh_l1))
            lstm.bias_ih_l1.add_(0.5)
            outs[gate] = (before, net(x))
    before, after = outs["open"]
    assert (after - before).abs().max() > 1e-4 * before.abs().max()
    before, after = outs["closed"]
    assert torch.equal(before, after)


@pytest.mark.parametrize("name,placement", [("r3d_18", "final"), ("r2plus1d_18", "mid"), ("r3d_50", "top"), ("r2plus1d_50", "end")])
def test_gradients_reach_every_parameter_with_open_gate(name, placement):
    net = MODELS[name](srtg=placement, srtg_kwargs={"gate": "open"}, **SMALL)
    F.cross_entropy(net(torch.randn(2, 3, 16, 32, 32)), torch.tensor([1, 4])).backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert missing == []
    assert any("srtg.sr.rnn" in n for n, _ in net.named_parameters())


@pytest.mark.parametrize("n_in,n_out", [(64, 64), (64, 128), (128, 128), (256, 512), (8, 16), (45, 64)])
def test_2plus1d_mid_channels_match_3d_params(n_in, n_out):
    m = tran_mid_channels(n_in, n_out)
    assert m == (27 * n_in * n_out) // (9 * n_in + 3 * n_out)
    conv = Conv2Plus1D(n_in, n_out)
    assert conv[0].out_channels == m and conv[3].in_channels == m
    weights = conv[0].weight.numel() + conv[3].weight.numel()  # (1,3,3) + (3,1,1) convs
    full = 27 * n_in * n_out  # the (3,3,3) conv it replaces
    assert weights <= full and (full - weights) / full < 0.03
    assert tran_mid_channels(64, 64) == 144  # Tran et al.'s / torchvision's conv2_x mid width


def test_kaiming_init_and_no_state_leak():
    net = R.r3d_18(**SMALL)
    w = net.layer4[1].conv2[0].weight  # (64, 64, 3, 3, 3): fan_out = 64 * 27
    assert abs(w.std().item() / (2 / (64 * 27)) ** 0.5 - 1) < 0.1
    assert torch.equal(net.layer1[0].conv1[1].weight, torch.ones(8))
    assert isinstance(srt_gates(R.r3d_18(srtg="res", **SMALL))[0][1], SRTGate)
    assert isinstance(net, VideoResNet) and net.placement is None


@pytest.mark.parametrize("name", ["r3d_18", "r2plus1d_18"])
def test_cpu_runs_channels_last_internally_with_the_same_values(name):
    torch.manual_seed(0)
    net = build_model(name, num_classes=4, width=0.125, srtg="final", srtg_kwargs={"gate": "open"}).eval()
    x = torch.randn(2, 3, 16, 32, 32)
    feats = net.layer3(net.layer2(net.layer1(net.stem(x.contiguous(memory_format=torch.channels_last_3d)))))
    if name == "r3d_18":  # oneDNN keeps the format through 3x3x3 convs (its (3,1,1) convs return channels-first)
        assert feats.is_contiguous(memory_format=torch.channels_last_3d) and not feats.is_contiguous()
    feats = net.forward_features(x)
    plain = x  # channels-first all the way: the layers called one by one, no conversion
    for stage in (net.stem, net.layer1, net.layer2, net.layer3, net.layer4):
        plain = stage(plain)
    assert plain.is_contiguous()
    torch.testing.assert_close(feats, plain, rtol=1e-4, atol=1e-5)
