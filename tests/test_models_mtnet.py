"""MTNet (Table 1): builders, shapes, r = 1 equivalence, gradients, Squeeze-and-Recursion, and the
three readings (sr, downsample, streams), each test failing for the other reading."""

import copy

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from actionrec.layers.mtconv import MTConv, split_channels
from actionrec.layers.softpool import soft_pool3d
from actionrec.layers.squeeze_recursion import SqueezeRecursion
from actionrec.models import MODELS, build_model
from actionrec.models.factory import get_mtnet_reading, get_sr_layer
from actionrec.models.mtblocks import join_streams
from actionrec.models.mtnet import (MTNET_DEPTHS, MTNET_READING, DownsampleMTBlock, MergedShortcut, MTNet, MTShortcut,
                                    MTStageSR, MultiplexerMTBlock, RepeatMTBlock, mtnet_32, mtnet_48)

SMALL = dict(num_classes=7, width=0.125)  # channels 16, 16, 32, 64, 128 (rounded to multiples of 16)


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


@pytest.mark.parametrize("depth", list(MTNET_DEPTHS))
def test_every_builder_follows_table1(depth):
    """Shapes, finite outputs and gradients of every builder: tests/test_models.py; here the layout."""
    with torch.device("meta"):
        net = MODELS[f"mtnet_{depth}"](**SMALL)
        assert type(build_model(f"mtnet{depth}", **SMALL)) is MTNet  # the old name still builds
    repeats = [sum(isinstance(b, RepeatMTBlock) for b in stage) for stage in net.stages]
    assert tuple(repeats) == MTNET_DEPTHS[depth]
    assert all(isinstance(stage[0], DownsampleMTBlock) for stage in net.stages)


def test_table1_depths():
    assert MTNET_DEPTHS == {32: (2, 2, 2, 2), 48: (2, 2, 5, 3), 64: (3, 4, 6, 3), 132: (3, 4, 23, 3), 200: (3, 8, 36, 3)}


@pytest.mark.parametrize("r,g", [(0.875, 1), (0.875, 8), (1.0, 1), (0.5, 8), (0.625, 8), (0.75, 1)])
def test_shapes_streams_and_split(r, g):
    net = mtnet_32(num_classes=5, r=r, g=g, width=0.25)
    x_s, x_l = net.forward_features(torch.randn(2, 3, 16, 32, 32))
    # 16x32x32 -> stem /2 -> SoftPool /2 -> stage strides 1, 2, 2, 2: short 2x1x1, long 1x1x1
    assert x_s.shape[2:] == (2, 1, 1)
    c = net.channels[-1]
    if r == 1.0:
        assert x_l is None and x_s.shape[1] == c
    else:
        assert x_l.shape[2:] == (1, 1, 1)
        assert x_s.shape[1] + x_l.shape[1] == c
    assert net.forward_head((x_s, x_l)).shape == (2, 5)


def test_stage_resolutions_follow_table1():
    net = mtnet_32(num_classes=5, width=0.25)
    sizes = []
    net.eval()
    pair = net.split(F.max_pool3d(net.stem(torch.randn(1, 3, 16, 64, 64)), (1, 2, 2)))
    for stage, sr in zip(net.stages, net.srs):
        pair = sr(stage(pair))
        sizes.append((tuple(pair[0].shape[2:]), tuple(pair[1].shape[2:])))
    # Table 1 sizes scaled to a 64x64 input: 16x16x16, 8x8x8, 4x4x4, 2x2x2; long stream halved
    assert sizes == [((16, 16, 16), (8, 8, 8)), ((8, 8, 8), (4, 4, 4)), ((4, 4, 4), (2, 2, 2)), ((2, 2, 2), (1, 1, 1))]


def test_width_rounding_keeps_divisibility():
    assert mtnet_32(width=0.25).channels == (16, 32, 64, 128)
    assert mtnet_32(width=0.3).channels == (16, 32, 80, 160)
    assert mtnet_32(width=0.25, g=16).channels == (32, 32, 64, 128)  # multiples of 2 * lcm(8, g)
    mtnet_32(width=0.3, g=8, r=0.625)  # builds: every split divisible


def test_forward_equals_features_then_head_and_is_deterministic():
    net = mtnet_32(**SMALL, dropout=0.5).eval()
    x = torch.randn(2, 3, 16, 32, 32)
    y = net(x)
    torch.testing.assert_close(net.forward_head(net.forward_features(x)), y)
    torch.manual_seed(0)
    a = mtnet_32(**SMALL)(x)
    torch.manual_seed(0)
    b = mtnet_32(**SMALL)(x)
    assert torch.equal(a, b)


def test_channels_last_model_matches():
    net = mtnet_32(**SMALL).eval()
    x = torch.randn(2, 3, 16, 32, 32)
    ref = net(x)
    net_cl = net.to(memory_format=torch.channels_last_3d)
    torch.testing.assert_close(net_cl(x), ref, atol=1e-4, rtol=1e-4)


# -- gradients reach every parameter (g = 1: tests/test_models.py) --------------------------------------
@pytest.mark.parametrize("g", [8])
def test_gradients_reach_every_parameter(g):
    # zero_init_residual=False: with the default zero BN scales the branch convs get no gradient
    # on the very first step (by design; test_zero_init_residual_blocks_start_as_identity)
    net = mtnet_32(num_classes=5, r=0.875, g=g, width=0.25, zero_init_residual=False)
    # 32 frames: the last stage's long stream keeps T = 2, so the GRUs' hidden-to-hidden weights
    # get a gradient too (with T = 1, h_0 = 0 and W_hh receives none, correctly)
    x = torch.randn(2, 3, 32, 32, 32)
    loss = F.cross_entropy(net(x), torch.tensor([0, 3]))
    loss.backward()
    dead = [n for n, p in net.named_parameters() if p.grad is None or not (p.grad != 0).any()]
    assert not dead, dead
    if g == 8:
        assert any(isinstance(m, nn.Conv3d) and m.groups == 7 for m in net.modules())


def test_substreams_cut_parameters():
    n1 = sum(p.numel() for p in mtnet_32(width=0.5, g=1).parameters())
    n8 = sum(p.numel() for p in mtnet_32(width=0.5, g=8).parameters())
    assert n8 < 0.5 * n1


# -- r = 1 repeat block equals a plain residual 3D block -------------------------------------------
class PlainResidual3d(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv3d(c, c, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm3d(c)
        self.conv2 = nn.Conv3d(c, c, (1, 3, 3), 1, (0, 1, 1), bias=False)
        self.bn2 = nn.BatchNorm3d(c)

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(y)) + x)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_r1_repeat_block_is_plain_residual_block(mode):
    blk = RepeatMTBlock(8, r=1.0)
    ref = PlainResidual3d(8)
    for m in blk.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.normal_()
            m.running_mean.normal_()
            m.running_var.uniform_(0.5, 1.5)
    ref.conv1.weight.data.copy_(blk.conv1.conv_s.weight)
    ref.bn1.load_state_dict(blk.conv1.bn_s.state_dict())
    ref.conv2.weight.data.copy_(blk.conv2.conv_s.weight)
    ref.bn2.load_state_dict(blk.conv2.bn_s.state_dict())
    blk.train(mode == "train")
    ref.train(mode == "train")
    x = torch.randn(2, 8, 4, 6, 6)
    y, y_l = blk((x, None))
    assert y_l is None
    torch.testing.assert_close(y, ref(x), rtol=0, atol=0)


def test_downsample_block_shortcut_and_identity():
    blk = DownsampleMTBlock(16, 32, stride=2, r=0.875)
    x = (torch.randn(2, 14, 8, 8, 8), torch.randn(2, 2, 4, 4, 4))
    y_s, y_l = blk(x)
    assert y_s.shape == (2, 28, 4, 4, 4) and y_l.shape == (2, 4, 2, 2, 2)
    assert (y_s >= 0).all() and (y_l >= 0).all()
    assert all(m.lateral_pool == "soft" for m in blk.modules() if isinstance(m, MTConv))
    assert isinstance(DownsampleMTBlock(16, 16, stride=1).shortcut, nn.Identity)
    assert all(m.lateral_pool == "avg" for m in RepeatMTBlock(16).modules() if isinstance(m, MTConv))


def test_recurrent_options():
    assert not any(isinstance(m, nn.GRU) for m in mtnet_32(width=0.25, recurrent=None).modules())
    net = mtnet_32(width=0.25, recurrent="lstm", num_classes=3)
    assert sum(isinstance(m, nn.LSTM) for m in net.modules()) == 8  # 4 stages x 2 streams
    assert net(torch.randn(2, 3, 16, 32, 32)).shape == (2, 3)
    assert sum(isinstance(m, nn.GRU) for m in mtnet_32(width=0.25, r=1.0).modules()) == 4


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="r="):
        mtnet_32(r=0.3)
    with pytest.raises(ValueError, match="r="):
        mtnet_32(r=1.5)
    with pytest.raises(ValueError, match="g="):
        mtnet_32(g=0)
    with pytest.raises(ValueError, match="width="):
        mtnet_32(width=0)
    with pytest.raises(ValueError, match="recurrent="):
        mtnet_32(recurrent="rnn")
    with pytest.raises(TypeError):
        mtnet_32(400)  # keyword-only
    with pytest.raises(ValueError, match=r"\(B, C, T, H, W\)"):
        mtnet_32(width=0.25)(torch.randn(3, 16, 32, 32))


def test_kaiming_init():
    net = mtnet_32(width=0.25)
    conv = net.stages[2][1].conv1.conv_s
    fan_out = conv.out_channels * 27
    assert abs(conv.weight.std().item() - (2.0 / fan_out) ** 0.5) < 0.2 * (2.0 / fan_out) ** 0.5
    assert isinstance(net, MTNet)


def test_cpu_runs_channels_last_internally_and_equals_channels_first():
    """On CPU forward_features converts the input to channels_last_3d (speed); values and
    gradients must equal running the same modules on channels-first tensors."""
    torch.manual_seed(0)
    net = mtnet_32(num_classes=5, r=0.875, g=1, width=0.25).eval()
    x = torch.randn(2, 3, 16, 32, 32)  # contiguous, as the training loop feeds it
    feats = net.forward_features(x)
    assert feats[0].is_contiguous(memory_format=torch.channels_last_3d) and not feats[0].is_contiguous()
    out = net.forward_head(feats)
    ref_net = copy.deepcopy(net)
    h = soft_pool3d(ref_net.stem(x), (1, 2, 2), (1, 2, 2), ceil_mode=True)
    pair = ref_net.split(h)
    assert pair[0].is_contiguous()  # the reference really is channels-first
    for stage, sr in zip(ref_net.stages, ref_net.srs):
        pair = sr(stage(pair))
    ref = ref_net.forward_head(pair)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    out.square().sum().backward()
    ref.square().sum().backward()
    for (n, p), q in zip(net.named_parameters(), ref_net.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-3, rtol=1e-3, msg=n)


def test_recurrent_strings_resolve_to_a_layer_once():
    sr = get_sr_layer("lstm", "mul")
    assert sr.func is SqueezeRecursion and sr.keywords == {"mode": "lstm", "fusion": "mul"}
    assert get_sr_layer(None) is None and get_sr_layer(sr) is sr
    net = MTNet(width=0.25, num_classes=3, sr_layer=sr)
    assert all(m.mode == "lstm" and m.fusion == "mul" for m in net.modules() if isinstance(m, SqueezeRecursion))


def test_sr_fusion_option_reaches_every_stage():
    net = mtnet_32(width=0.25, num_classes=3, sr_fusion="mul")
    srs = [m for m in net.modules() if isinstance(m, SqueezeRecursion)]
    assert len(srs) == 8 and all(m.fusion == "mul" for m in srs)
    assert all(m.fusion == "residual" for m in mtnet_32(width=0.25).modules() if isinstance(m, SqueezeRecursion))
    with pytest.raises(ValueError, match="fusion"):
        mtnet_32(width=0.25, sr_fusion="sigmoid")


@pytest.mark.parametrize("r", [0.875, 1.0])
def test_zero_init_residual_blocks_start_as_identity(r):
    torch.manual_seed(0)
    net = mtnet_32(num_classes=5, r=r, width=0.25)  # zero_init_residual=True is the default
    block = net.stages[1][1]  # a RepeatMTBlock: identity shortcut
    assert isinstance(block, RepeatMTBlock)
    c_s, c_l = split_channels(net.channels[1], r)
    x_s = torch.rand(2, c_s, 8, 4, 4)  # post-relu features are >= 0, so relu(0 + x) == x
    x_l = torch.rand(2, c_l, 4, 2, 2) if r < 1 else None
    y_s, y_l = block((x_s, x_l))
    torch.testing.assert_close(y_s, x_s)
    if r < 1:
        torch.testing.assert_close(y_l, x_l)
    zeroed = [n for n, m in net.named_modules() if isinstance(m, nn.BatchNorm3d) and not m.weight.any()]
    assert any(n.endswith("conv3.bn_s") for n in zeroed) and any(n.endswith("conv2.bn_s") for n in zeroed)
    assert all(n.split(".")[-2] in ("conv2", "conv3") for n in zeroed), zeroed
    plain = mtnet_32(num_classes=5, r=r, width=0.25, zero_init_residual=False)
    assert all(m.weight.all() for m in plain.modules() if isinstance(m, nn.BatchNorm3d))


# -- the readings (sr, downsample, streams): each test fails for the other reading ---------------------
READINGS = [dict(sr=a, downsample=b, streams=c) for a in ("stage", "block") for b in ("bottleneck", "multiplexer")
            for c in ("persist", "merge")]


def _rid(reading):
    return "-".join(reading.values())


def test_default_reading_is_the_one_table3_chose():
    """benchmarks/complexity.py --readings (pre-registered rules): stage / bottleneck / persist."""
    assert MTNET_READING == {"sr": "stage", "downsample": "bottleneck", "streams": "persist"}
    net = mtnet_32(width=0.25)
    assert all(isinstance(s[0], DownsampleMTBlock) for s in net.stages)
    assert all(isinstance(sr, MTStageSR) for sr in net.srs) and not net.merge
    assert all(b.sr is None for b in net.modules() if isinstance(b, RepeatMTBlock))


@pytest.mark.parametrize("sr", ["stage", "block"])
def test_sr_reading_places_the_gru_pairs(sr):
    """"stage": one GRU pair per stage (Table 1's SR row); "block": one in every repeat block
    ("4 x Conv + 2 x GRU"), reading the block's last MTConv output before the residual add."""
    net = mtnet_48(width=0.25, num_classes=3, sr=sr)
    grus = [n for n, m in net.named_modules() if isinstance(m, nn.GRU)]
    repeats = sum(MTNET_DEPTHS[48])
    if sr == "stage":
        assert len(grus) == 8 and all(n.startswith("srs.") for n in grus)
        return
    assert len(grus) == 2 * repeats and all(".sr.sr_" in n and n.startswith("stages.") for n in grus)
    assert all(isinstance(m, nn.Identity) for m in net.srs)
    assert not any(isinstance(m, nn.GRU) for s in net.stages for m in s[0].modules())  # downsample: none
    block = net.stages[2][3]
    seen = {}
    block.conv2.register_forward_hook(lambda m, i, o: seen.update(conv2=o))
    block.sr.register_forward_pre_hook(lambda m, i: seen.update(sr_in=i[0]))
    block.sr.register_forward_hook(lambda m, i, o: seen.update(sr_out=o))
    x = (torch.rand(2, 56, 4, 4, 4), torch.rand(2, 8, 2, 2, 2))
    y = block(x)
    assert seen["sr_in"] is seen["conv2"]  # the SR reads the last MTConv's output
    ref = (F.relu(seen["sr_out"][0] + x[0]), F.relu(seen["sr_out"][1] + x[1]))  # then the residual add
    torch.testing.assert_close(y, ref)


def _conv_walk(block):
    """(kernel, C_in, C_out) of each MTConv of ``block``'s residual branch, in order."""
    return [(m.kernel_size, m.in_channels, m.out_channels) for n, m in block.named_modules()
            if isinstance(m, MTConv)]


def test_downsample_readings_conv_layout():
    """bottleneck: 1x1x1 in→out/2, 3x3x3, 1x1x1 out/2→out; multiplexer: MF-Net's 1x1x1 in→out/8→in
    first (four MTConvs, Fig. 3), then 3x3x3 in→out/2 and 1x1x1 out/2→out."""
    one, three = (1, 1, 1), (3, 3, 3)
    net_b = mtnet_32(downsample="bottleneck")  # full width: 64, 128, 256, 512
    net_m = mtnet_32(downsample="multiplexer")
    assert _conv_walk(net_b.stages[2][0]) == [(one, 128, 128), (three, 128, 128), (one, 128, 256)]
    assert _conv_walk(net_m.stages[2][0]) == [(one, 128, 32), (one, 32, 128), (three, 128, 128), (one, 128, 256)]
    assert isinstance(net_m.stages[2][0], MultiplexerMTBlock) and isinstance(net_b.stages[2][0], DownsampleMTBlock)
    assert _conv_walk(net_m.stages[0][0])[:2] == [(one, 64, 8), (one, 8, 64)]
    # small widths round the multiplexer up so every split divides by the sub-streams
    mtnet_32(width=0.25, g=8, downsample="multiplexer", r=0.625)


def test_multiplexer_is_added_to_the_block_input():
    """MF-Net: x_in = x + conv_i2(conv_i1(x)). With the second multiplexer conv's output zeroed the
    block is conv3(conv2(x)) + shortcut; with it, conv2 reads x + mux(x)."""
    torch.manual_seed(0)
    blk = MultiplexerMTBlock(16, 32, stride=2, r=0.875).eval()
    for bn in (blk.mux2.bn_s, blk.mux2.bn_l, blk.mux2.bn_s2l):
        bn.bias.data.normal_()
    x = (torch.rand(2, 14, 8, 8, 8), torch.rand(2, 2, 4, 4, 4))
    m = blk.mux2(blk.mux1(x))
    x_in = (x[0] + m[0], x[1] + m[1])
    y, s = blk.conv3(blk.conv2(x_in)), blk.shortcut(x)
    torch.testing.assert_close(blk(x), (F.relu(y[0] + s[0]), F.relu(y[1] + s[1])))
    with torch.no_grad():
        for bn in (blk.mux2.bn_s, blk.mux2.bn_l, blk.mux2.bn_s2l):
            bn.weight.zero_(), bn.bias.zero_()
    y = blk.conv3(blk.conv2(x))
    torch.testing.assert_close(blk(x), (F.relu(y[0] + s[0]), F.relu(y[1] + s[1])))


@pytest.mark.parametrize("streams", ["persist", "merge"])
def test_streams_reading(streams):
    """persist: every block passes the stream pair on; merge: every block returns one tensor of all
    C channels at the short stream's resolution (long upsampled and concatenated) and splits its
    input again (long part pooled by 2), residual on the joined tensor."""
    net = mtnet_32(width=0.25, num_classes=3, streams=streams).eval()
    outs = []
    for stage in net.stages:
        for b in stage:
            b.register_forward_hook(lambda m, i, o: outs.append(o))
    net(torch.randn(1, 3, 16, 32, 32))
    assert len(outs) == sum(MTNET_DEPTHS[32]) + 4
    if streams == "persist":
        assert all(isinstance(o, tuple) and o[1].shape[2] * 2 == o[0].shape[2] for o in outs[:-1])
        return
    assert all(isinstance(o, torch.Tensor) for o in outs)
    assert [o.shape[1] for o in outs[::3]] == list(net.channels)
    blk = net.stages[1][1]  # a repeat block: reproduce it by hand
    x = torch.rand(2, 32, 8, 8, 8)
    x_s, x_l = x[:, :28], F.avg_pool3d(x[:, 28:], 2, ceil_mode=True)
    y_s, y_l = blk.conv2(blk.conv1((x_s, x_l)))
    joined = torch.cat([y_s, y_l.repeat_interleave(2, 2).repeat_interleave(2, 3).repeat_interleave(2, 4)], 1)
    torch.testing.assert_close(blk(x), F.relu(joined + x))
    assert isinstance(net.stages[1][0].shortcut, MergedShortcut)
    assert isinstance(mtnet_32(width=0.25).stages[1][0].shortcut, MTShortcut)


@pytest.mark.parametrize("reading", READINGS, ids=_rid)
def test_every_reading_trains_and_starts_as_identity(reading):
    net = mtnet_32(num_classes=5, width=0.125, zero_init_residual=False, **reading)
    x = torch.randn(2, 3, 32, 32, 32)  # 32 frames: the last long stream keeps T = 2 (W_hh gets a gradient)
    F.cross_entropy(net(x), torch.tensor([0, 3])).backward()
    dead = [n for n, p in net.named_parameters() if p.grad is None or not (p.grad != 0).any()]
    assert not dead, dead
    torch.manual_seed(0)
    net = mtnet_32(num_classes=5, width=0.25, **reading).eval()
    blocks = [b for s in net.stages for b in s]
    assert all(bn.weight.abs().sum() == 0 for b in blocks for c in b.last_convs() for bn in (c.bn_s, c.bn_l, c.bn_s2l))
    x_s, x_l = torch.rand(2, 28, 8, 4, 4), torch.rand(2, 4, 4, 2, 2)
    x = join_streams((x_s, x_l)) if reading["streams"] == "merge" else (x_s, x_l)
    y = net.stages[1][1](x)  # a repeat block starts as the identity (inputs >= 0)
    torch.testing.assert_close(y, x)


@pytest.mark.parametrize("reading", READINGS, ids=_rid)
def test_r1_blocks_are_plain_3d_blocks_in_every_reading(reading):
    """r = 1 ≡ conv3d: repeat blocks (without SR) are plain residual blocks in both stream readings,
    and both downsample blocks equal their plain conv3d counterparts (weights copied)."""
    merge = reading["streams"] == "merge"
    blk = RepeatMTBlock(8, r=1.0, merge=merge).eval()
    ref = PlainResidual3d(8).eval()
    ref.conv1.weight.data.copy_(blk.conv1.conv_s.weight)
    ref.conv2.weight.data.copy_(blk.conv2.conv_s.weight)
    x = torch.rand(2, 8, 4, 6, 6)
    y = blk(x if merge else (x, None))
    torch.testing.assert_close(y if merge else y[0], ref(x), rtol=0, atol=0)
    cls = DownsampleMTBlock if reading["downsample"] == "bottleneck" else MultiplexerMTBlock
    blk = cls(8, 16, stride=2, r=1.0, merge=merge).eval()
    for m in blk.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.running_mean.normal_(), m.running_var.uniform_(0.5, 1.5), m.weight.data.uniform_(0.5, 1.5)
    convs = [m for m in blk.modules() if isinstance(m, MTConv)]
    bns = [c.bn_s for c in convs]

    def cbr(h, c, bn, act=True):  # plain conv3d → bn (→ relu)
        h = bn(F.conv3d(h, c.conv_s.weight, stride=c.stride, padding=tuple(k // 2 for k in c.kernel_size)))
        return F.relu(h) if act else h

    h = x
    if cls is MultiplexerMTBlock:
        h = x + cbr(cbr(x, convs[0], bns[0]), convs[1], bns[1], act=False)
        convs, bns = convs[2:], bns[2:]
    for i, (c, bn) in enumerate(zip(convs, bns)):
        h = cbr(h, c, bn, act=i < len(convs) - 1)
    sc = blk.shortcut
    w, bn = (sc.conv.weight, sc.bn) if merge else (sc.conv_s.weight, sc.bn_s)
    expected = F.relu(h + bn(F.conv3d(soft_pool3d(x, 2, 2, ceil_mode=True), w)))
    y = blk(x if merge else (x, None))
    torch.testing.assert_close(y if merge else y[0], expected)


def test_r1_persist_and_merge_are_the_same_network():
    """With r = 1 there is no long stream: split/join are the identity, so merge == persist."""
    torch.manual_seed(0)
    a = mtnet_32(num_classes=4, width=0.25, r=1.0, streams="persist").eval()
    b = mtnet_32(num_classes=4, width=0.25, r=1.0, streams="merge").eval()
    sd = {k.replace("shortcut.conv_s", "shortcut.conv").replace("shortcut.bn_s", "shortcut.bn"): v
          for k, v in a.state_dict().items()}
    b.load_state_dict(sd)
    x = torch.randn(2, 3, 16, 32, 32)
    torch.testing.assert_close(b(x), a(x))


def test_reading_strings_are_validated_and_resolved_once():
    for key in ("sr", "downsample", "streams"):
        with pytest.raises(ValueError, match=f"{key}="):
            mtnet_32(width=0.25, **{key: "nope"})
    kw = get_mtnet_reading("block", "multiplexer", "merge")
    assert kw == {"block_sr": True, "downsample_block": MultiplexerMTBlock, "merge": True}
    assert get_mtnet_reading("stage", DownsampleMTBlock, "persist")["downsample_block"] is DownsampleMTBlock
