"""The whole zoo: every ``MODELS`` entry at a small width on its minimum clip (output shape, finite
output, gradients reach every parameter but a listed set, ``forward_head(forward_features(x)) ==
forward(x)``), the old names in ``ALIASES``, and one full-size parameter count per family on the meta
device."""

import pytest
import torch

from actionrec.analysis.complexity import count_params
from actionrec.models import ALIASES, MODELS, build_model, canonical_name
from actionrec.models.mtnet import MTNET_DEPTHS
from actionrec.models.tsn import temporal_modules

CLIP_3D = (3, 16, 32, 32)  # (C, T, H, W): the smallest clip the 3D networks take (module docstrings)
CLIP_TSN = (3, 2, 32, 32)  # T = num_segments
CLIP_TWO_STREAM = (5, 2, 32, 32)  # RGB + per-frame flow (dx, dy)
# MTNet on 16 frames: the last stage's long stream has T = 1, so its GRUs' hidden-to-hidden weights
# see h_0 = 0 only and get no gradient (correctly).
MTNET_T1_GRU = {"srs.3.sr_l.rnn.weight_hh_l0", "srs.3.sr_l.rnn.weight_hh_l1"}
# r3d-18 with hard SRTG gates at "final": at init no gate opens on this clip, and a closed hard gate
# passes no gradient to its LSTM (the decision is boolean).
R3D18_CLOSED_LSTMS = {f"layer{i}.{j}.srtg.sr.rnn.{w}_{k}_l{n}" for i in range(1, 5) for j in range(2)
                      for w in ("weight", "bias") for k in ("ih", "hh") for n in range(2)}

# name: (builder keywords, clip (C, T, H, W), parameters allowed (and required) to get no gradient)
CASES = {
    **{f"mtnet_{d}": (dict(width=0.125, zero_init_residual=False), CLIP_3D, MTNET_T1_GRU)
       for d in (32, 48, 64, 132, 200)},  # zero-init BN scales would hold the branches' gradients at 0
    "c3d_small": (dict(width=0.25), (3, 4, 32, 32), set()),
    "frame_avg2d": (dict(width=0.25), (3, 4, 32, 32), set()),
    **{f"{k}_{d}": (dict(width=0.125), CLIP_3D, set()) for k in ("r3d", "r2plus1d") for d in (18, 34, 50, 101)},
    "r3d_18": (dict(width=0.125, srtg="final"), CLIP_3D, R3D18_CLOSED_LSTMS),
    "msti_net_50": (dict(width=0.125), CLIP_3D, set()),
    "msti_net_small": (dict(), CLIP_3D, set()),
    **{f"{n}_r50": (dict(width=0.125, num_segments=2), CLIP_TSN, set()) for n in ("tsn", "tsm", "mstnet")},
    **{f"{n}_small": (dict(width=0.25, num_segments=2), CLIP_TSN, set()) for n in ("tsn", "tsm", "mstnet")},
    **{n: (dict(width=0.125, flow_channels=4), CLIP_TWO_STREAM, set())
       for n in ("two_stream_r50", "two_stream_r152", "two_stream_small")},
}


def test_cases_cover_the_zoo_and_aliases_resolve():
    assert set(CASES) == set(MODELS)
    assert all(target in MODELS for target in ALIASES.values()) and not set(ALIASES) & set(MODELS)
    assert canonical_name("mtnet32") == "mtnet_32" and canonical_name("r3d_18") == "r3d_18"
    with pytest.raises(ValueError, match="unknown model 'nope'; valid names: .*mtnet_32"):
        build_model("nope")


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_model_on_its_minimum_clip(name, one_thread):
    kwargs, clip, no_grad = CASES[name]
    torch.manual_seed(0)
    net = build_model(name, num_classes=3, **kwargs).train()
    x = torch.randn(2, *clip)
    y = net(x)
    assert y.shape == (2, 3) and torch.isfinite(y).all()
    y.square().sum().backward()
    dead = {n for n, p in net.named_parameters() if p.grad is None or not p.grad.any()}
    assert dead == no_grad
    net.eval()
    with torch.no_grad():
        assert torch.equal(net.forward_head(net.forward_features(x)), net(x))


def test_old_names_build_the_same_networks():
    for old, new in ALIASES.items():
        torch.manual_seed(0)
        a = build_model(old, num_classes=3, width=0.125).state_dict()
        torch.manual_seed(0)
        b = build_model(new, num_classes=3, width=0.125).state_dict()
        assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a), old


# -- full-size parameter counts, one family at a time (meta device: shapes only) ----------------------
def _meta(name, **kwargs):
    with torch.device("meta"):
        return build_model(name, **kwargs)


def _bn(c):
    return 2 * c  # weight + bias


def test_params_baselines():
    """[conv k^d → bn] x 4 widths (32, 64, 128, 128) + fc."""
    def expected(k_vol, classes):
        n, c_in = 0, 3
        for c in (32, 64, 128, 128):
            n, c_in = n + k_vol * c_in * c + _bn(c), c
        return n + 128 * classes + classes
    assert count_params(_meta("c3d_small", num_classes=400)) == expected(27, 400) == 773_744
    assert count_params(_meta("frame_avg2d", num_classes=400)) == expected(9, 400) == 292_784


def _resnet3d_count(depth: int, num_classes: int = 400) -> int:
    """Standard 3D ResNet: (3,7,7) stem, Simple (3,3,3)x2 or Bottleneck 1/3/1, projection shortcuts."""
    layers = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3)}[depth]
    bottleneck = depth >= 50
    exp = 4 if bottleneck else 1
    n, c_in = 3 * 64 * 3 * 7 * 7 + _bn(64), 64
    for i, (planes, blocks) in enumerate(zip((64, 128, 256, 512), layers)):
        for j in range(blocks):
            out = planes * exp
            if bottleneck:
                n += c_in * planes + _bn(planes) + 27 * planes * planes + _bn(planes) + planes * out + _bn(out)
            else:
                n += 27 * c_in * planes + _bn(planes) + 27 * planes * planes + _bn(planes)
            if (i > 0 and j == 0) or c_in != out:
                n += c_in * out + _bn(out)  # conv (1,1,1) + bn
            c_in = out
    return n + c_in * num_classes + num_classes


def test_params_resnet3d():
    assert _resnet3d_count(18) == 33_371_472  # torchvision r3d_18 (documented as 33.4M)
    assert _resnet3d_count(34) == 63_681_104  # 63.7M (a (7,7,7) stem, as Hara et al., would add 37,632)
    assert _resnet3d_count(50) == 46_980_944  # 47.0M
    for d in (18, 34, 50):
        assert count_params(_meta(f"r3d_{d}", num_classes=400)) == _resnet3d_count(d), d
    # (2+1)D keeps the 3D budget (Tran et al.); mid-channel BNs add a little, floors remove a little
    assert abs(count_params(_meta("r2plus1d_18", num_classes=400)) / _resnet3d_count(18) - 1) < 0.01
    # SRTG Final on r3d_18: one 2-layer LSTM (hidden C) per block, 16 C^2 + 16 C parameters each
    lstm = sum(16 * c * c + 16 * c for c in (64, 64, 128, 128, 256, 256, 512, 512))
    assert count_params(_meta("r3d_18", num_classes=400, srtg="final")) == _resnet3d_count(18) + lstm


def test_params_tsn():
    tsn = count_params(_meta("tsn_r50", num_classes=400))
    assert count_params(_meta("tsn_r50", num_classes=1000)) == 25_557_032  # torchvision resnet50
    assert tsn == 25_557_032 - 2048 * 600 - 600 == 24_327_632  # paper: 24.3M
    assert count_params(_meta("tsm_r50", num_classes=400)) == tsn  # the shift has no parameters
    mst = _meta("mstnet_r50", num_classes=400)
    mix = sum(p.numel() for _, m in temporal_modules(mst) for p in m.parameters())
    # each block's MixTConv on C_in channels, 4 groups of C_in/4, kernels 1+3+5+7 = 16 -> 4 C_in weights
    c_ins = [64, 256, 256] + [256, 512, 512, 512] + [512] + [1024] * 5 + [1024, 2048, 2048]
    assert mix == sum(4 * c for c in c_ins) == 52_480
    assert count_params(mst) == tsn + mix == count_params(_meta("mstnet_r50", num_classes=400, init="tsm"))


def test_params_two_stream():
    """R50 stream = torchvision's ResNet-50 (25,557,032 at 1000 classes) + conv1's extra flow
    channels (7*7*64*17 = 53,312 for 2L = 20) + 3 C^2 + C per temporal filter; R152 likewise."""
    base = _meta("two_stream_r50", num_classes=1000, temporal_filters=None)
    assert count_params(base.appearance) == 25_557_032
    assert count_params(base.motion) == 25_557_032 + 7 * 7 * 64 * 17
    assert count_params(base) == count_params(base.appearance) + count_params(base.motion)  # ⊙: no weights
    tf = lambda c: 3 * c * c + c  # noqa: E731
    for placement, extra in (("last", tf(512)), ("every", sum(tf(c) for c in (64, 128, 256, 512))),
                             ("every+shortcut", sum(tf(c) for c in (64, 128, 256, 512, 256, 512, 1024, 2048)))):
        net = _meta("two_stream_r50", num_classes=1000, temporal_filters=placement)
        assert count_params(net.appearance) - 25_557_032 == extra, placement
    assert tf(512) == 786_944 and sum(tf(c) for c in (64, 128, 256, 512)) == 1_045_440
    # filter_units="all" (Table 1's x N / x M): a filter in every middle unit, 1 + 2 + 4 + 1 per stream
    middle = (64,) + (128,) * 2 + (256,) * 4 + (512,)
    for placement, extra in (("every", sum(tf(c) for c in middle)),
                             ("every+shortcut", sum(tf(c) + tf(4 * c) for c in middle))):
        net = _meta("two_stream_r50", num_classes=1000, temporal_filters=placement, filter_units="all")
        assert count_params(net.motion) - 25_557_032 - 7 * 7 * 64 * 17 == extra, placement
    r152 = _meta("two_stream_r152", num_classes=1000, temporal_filters=None)
    assert count_params(r152.appearance) == 60_192_808  # torchvision resnet152
    assert [len(s) for s in r152.motion.stages] == [3, 8, 36, 3]


def test_params_mtnet():
    """At r = 0.875, g = 1, width 1, 400 classes, default reading (Table 3 lists 21.6/39.8/43.0/85.3/
    124.3M at 700 classes; benchmarks/complexity.py --readings sets every reading side by side).
    sr="block" adds a GRU pair (12 C^2 + 12 C each, C = C_s and C_l) in every repeat block and drops
    the per-stage one; streams="merge" turns the three projection shortcuts into dense 1x1x1 convs
    (C_in C_out instead of C_s,in C_s,out + C_l,in C_l,out); the multiplexer is 17,162 smaller."""
    expected = {32: 25_473_536, 48: 38_482_048, 64: 41_387_040, 132: 72_984_736, 200: 99_007_520}
    assert {d: count_params(_meta(f"mtnet_{d}", num_classes=400)) for d in expected} == expected
    gru = lambda c: 12 * c * c + 12 * c  # noqa: E731  (2 layers, input = hidden = c)
    pairs = [gru(cs) + gru(c - cs) for c, cs in ((64, 56), (128, 112), (256, 224), (512, 448))]
    shortcuts = sum(ci * co - (cs_i * cs_o + (ci - cs_i) * (co - cs_o))
                    for ci, co, cs_i, cs_o in ((64, 128, 56, 112), (128, 256, 112, 224), (256, 512, 224, 448)))
    assert shortcuts == 37_632
    for d, n in expected.items():
        block = sum((k - 1) * p for k, p in zip(MTNET_DEPTHS[d], pairs))
        assert count_params(_meta(f"mtnet_{d}", num_classes=400, sr="block")) == n + block, d
        assert count_params(_meta(f"mtnet_{d}", num_classes=400, streams="merge")) == n + shortcuts, d
        assert count_params(_meta(f"mtnet_{d}", num_classes=400, downsample="multiplexer")) == n - 17_162, d


def test_params_msti_net():
    """The ResNet-50 skeleton (1x1x1 convs, shortcuts, fc-400, (3,7,7) stem) is ~13.0M; the MS block
    holds 1.75 P^2 + 0.625 P^2 and the CAW 1.375 P^2 + 0.5 P^2 weights per unit where ResNet-50 has
    9 P^2, i.e. ~5.3M; the paper gives 16.4M: within 15 % of it. Table 2's other units at full size:
    P3D-B 12 P^2, MS(T) 9.625 P^2, MS(S) 4.75 P^2, MS(ST) 2.375 P^2 per middle (layers/msti.py)."""
    n = count_params(_meta("msti_net_50", num_classes=400))
    assert n == 18_381_008 and abs(n / 16.4e6 - 1) < 0.15
    variants = {"p3d_b": 28_126_416, "ms_t": 25_139_920, "ms_s": 19_009_744, "ms_st": 16_023_248}
    assert {v: count_params(_meta("msti_net_50", num_classes=400, variant=v)) for v in variants} == variants
