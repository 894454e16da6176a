"""Cross-stream connections (actionrec.layers.fusion): the four kinds, the gradient gating of eq. 6-7,
and which stream each direction reads."""

import pytest
import torch
import torch.nn as nn

from actionrec.layers.fusion import DIRECT_PATHS, FUSION_KINDS, CrossStreamConnection, cross_stream
from actionrec.models.blocks import Bottleneck2d


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _inputs(shape=(2, 4, 5, 5)):
    x_a = (torch.rand(shape, dtype=torch.float64) + 0.1).requires_grad_()  # post-ReLU-like, > 0
    x_m = torch.randn(shape, dtype=torch.float64).requires_grad_()  # both signs: exercises f' = relu'
    return x_a, x_m


def _branch(c=4):
    """A nonlinear residual branch F (float64)."""
    return nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.Tanh(), nn.Conv2d(c, c, 1)).double()


def _branch_grad(F, u, w):
    """g = (∂F/∂u)^T w at u: the gradient the branch sends to its input."""
    u = u.detach().requires_grad_()
    (g,) = torch.autograd.grad((w * F(u)).sum(), u)
    return g


KIND_PATHS = [(k, "skip") for k in FUSION_KINDS] + [(k, "both") for k in FUSION_KINDS if k.startswith("direct")]


@pytest.mark.parametrize("kind,direct_path", KIND_PATHS)
def test_gradients_match_eq_6_7(kind, direct_path):
    """L = <w, skip + F(branch)>: autograd's gradients equal the analytic expressions.

    residual ⊙ (eq. 6-7): dL/dx_a = w + g ⊙ f(x_m) (branch gradient scaled by the motion signal),
    dL/dx_m = g ⊙ x_a ⊙ f'(x_m) (scaled by the appearance signal); residual ⊕ (eq. 3-4): unscaled.
    Direct, skip only (g + F(x_a)): the skip gradient w crosses, the branch's g reaches x_a unscaled;
    direct, both paths (g + F(g)): w + g crosses.
    """
    x_a, x_m = _inputs()
    F = _branch()
    conn = CrossStreamConnection(4, 4, kind=kind, direction="m2a", direct_path=direct_path)
    (skip_a, branch_a), (skip_m, branch_m) = conn(x_a, x_m)
    assert skip_m is x_m and branch_m is x_m  # the motion stream's unit is untouched
    out = skip_a + F(branch_a)
    w = torch.randn_like(out)
    ga, gm = torch.autograd.grad((w * out).sum(), (x_a, x_m))

    fm, dfm = torch.relu(x_m.detach()), (x_m.detach() > 0).double()
    xa = x_a.detach()
    fused = xa * fm if kind.endswith("mul") else xa + fm
    u = xa if (kind.startswith("direct") and direct_path == "skip") else fused  # the branch input
    g = _branch_grad(F, u, w)
    if kind == "residual_mul":
        exp_a, exp_m = w + g * fm, g * xa * dfm
    elif kind == "residual_add":
        exp_a, exp_m = w + g, g * dfm
    elif (kind, direct_path) == ("direct_mul", "skip"):  # only the skip path is gated
        exp_a, exp_m = w * fm + g, w * xa * dfm
    elif (kind, direct_path) == ("direct_add", "skip"):
        exp_a, exp_m = w + g, w * dfm
    elif kind == "direct_mul":  # both paths gated
        exp_a, exp_m = (w + g) * fm, (w + g) * xa * dfm
    else:  # direct_add, both paths
        exp_a, exp_m = w + g, (w + g) * dfm
    torch.testing.assert_close(ga, exp_a, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(gm, exp_m, rtol=1e-10, atol=1e-12)


def test_multiplicative_scales_additive_does_not():
    """The same branch gradient g: ⊙ hands the motion stream g ⊙ x_a, ⊕ hands it g; ⊙ scales the
    appearance branch gradient by f(x_m), ⊕ does not."""
    x_a, x_m = _inputs()
    F = _branch()
    grads = {}
    for kind in ("residual_mul", "residual_add"):
        (skip_a, branch_a), _ = CrossStreamConnection(4, 4, kind=kind)(x_a, x_m)
        out = skip_a + F(branch_a)
        w = torch.ones_like(out)
        grads[kind] = torch.autograd.grad((w * out).sum(), (x_a, x_m))
        u = x_a.detach() * torch.relu(x_m.detach()) if kind == "residual_mul" else x_a.detach() + torch.relu(x_m.detach())
        g = _branch_grad(F, u, w)
        on = x_m.detach() > 0
        ratio_m = grads[kind][1][on] / g[on]
        ratio_a = (grads[kind][0] - w)[on] / g[on]
        if kind == "residual_mul":
            torch.testing.assert_close(ratio_m, x_a.detach()[on])  # scaled by the appearance input
            torch.testing.assert_close(ratio_a, torch.relu(x_m.detach())[on])  # scaled by f(x_m)
        else:
            torch.testing.assert_close(ratio_m, torch.ones_like(ratio_m))
            torch.testing.assert_close(ratio_a, torch.ones_like(ratio_a))
        assert (grads[kind][1][~on] == 0).all()  # f = relu blocks x_m < 0
    assert not torch.allclose(grads["residual_mul"][1], grads["residual_add"][1])


def test_gating_through_a_real_bottleneck():
    """residual ⊙ in front of the model's Bottleneck (eval-mode BN): dL/dx_a = w' + g ⊙ f(x_m) with
    w' the gradient at the skip input (the unit's final ReLU included)."""
    unit = Bottleneck2d(16, 4).double().eval()
    x_a, x_m = _inputs((2, 16, 6, 6))
    (skip, branch), _ = CrossStreamConnection(16, 16)(x_a, x_m)
    out = unit(skip, branch, t=1)
    w = torch.randn_like(out)
    ga, gm = torch.autograd.grad((w * out).sum(), (x_a, x_m))
    skip_d = x_a.detach().requires_grad_()
    u = (x_a * torch.relu(x_m)).detach().requires_grad_()
    gs, g = torch.autograd.grad((w * unit(skip_d, u, t=1)).sum(), (skip_d, u))
    torch.testing.assert_close(ga, gs + g * torch.relu(x_m.detach()))
    torch.testing.assert_close(gm, g * x_a.detach() * (x_m.detach() > 0))


def test_forward_values_of_each_kind():
    x_a, x_m = (t.detach() for t in _inputs())
    f = torch.relu(x_m)
    expect = {("residual_mul", "skip"): (x_a, x_a * f), ("residual_add", "skip"): (x_a, x_a + f),
              ("residual_mul", "both"): (x_a, x_a * f), ("residual_add", "both"): (x_a, x_a + f),  # no effect
              ("direct_mul", "skip"): (x_a * f, x_a), ("direct_add", "skip"): (x_a + f, x_a),
              ("direct_mul", "both"): (x_a * f, x_a * f), ("direct_add", "both"): (x_a + f, x_a + f)}
    for (kind, path), (skip, branch) in expect.items():
        (s, b), _ = CrossStreamConnection(4, 4, kind=kind, direct_path=path)(x_a, x_m)
        assert torch.equal(s, skip) and torch.equal(b, branch)
        assert [torch.equal(v, e) for v, e in zip(cross_stream(x_a, f, kind, path), (skip, branch))] == [True, True]
    (s, b), _ = CrossStreamConnection(4, 4, kind="direct_mul")(x_a, x_m)  # default: the skip path only
    assert b is x_a and torch.equal(s, x_a * f)
    (s, b), _ = CrossStreamConnection(4, 4, gate="identity")(x_a, x_m)
    assert torch.equal(b, x_a * x_m)


@pytest.mark.parametrize("direction,reads_m,reads_a", [("m2a", True, False), ("a2m", False, True), ("bi", True, True),
                                                       ("<-", True, False), ("->", False, True), ("<->", True, True)])
def test_directions_read_the_named_stream(direction, reads_m, reads_a):
    """Which outputs depend on which input: appearance outputs on x_m only if the connection gates
    the appearance stream (m2a, bi); motion outputs on x_a only for a2m, bi."""
    x_a, x_m = _inputs()
    conn = CrossStreamConnection(4, 4, direction=direction)
    (skip_a, branch_a), (skip_m, branch_m) = conn(x_a, x_m)
    app = (skip_a + 2 * branch_a).sum()
    mot = (skip_m + 2 * branch_m).sum()
    ga_from_m = torch.autograd.grad(app, x_m, retain_graph=True, allow_unused=True)[0]
    gm_from_a = torch.autograd.grad(mot, x_a, allow_unused=True)[0]
    assert (ga_from_m is not None and ga_from_m.abs().sum() > 0) == reads_m
    assert (gm_from_a is not None and gm_from_a.abs().sum() > 0) == reads_a
    assert set(conn.receivers) == {r for r, on in (("appearance", reads_m), ("motion", reads_a)) if on}
    assert all(conn.reads[r] != r for r in conn.receivers)
    if direction in ("bi", "<->"):  # both gates read the *inputs* (simultaneous, Fig. 2e)
        assert torch.equal(branch_a, x_a * torch.relu(x_m)) and torch.equal(branch_m, x_m * torch.relu(x_a))


def test_channel_projection_layouts_and_errors():
    conn = CrossStreamConnection(8, 4, direction="bi")
    assert conn.proj_m2a.weight.shape == (8, 4) and conn.proj_a2m.weight.shape == (4, 8)
    assert sum(p.numel() for p in CrossStreamConnection(8, 8, direction="bi").parameters()) == 0
    x_a, x_m = torch.rand(2, 8, 3, 5, 5), torch.rand(2, 4, 3, 5, 5)  # (B, C, T, H, W)
    (sa, ba), (sm, bm) = conn(x_a, x_m)
    assert ba.shape == x_a.shape and bm.shape == x_m.shape
    # 5D and folded 4D give the same values
    fold = lambda x: x.transpose(1, 2).reshape(-1, x.shape[1], 5, 5)  # noqa: E731  (B, C, T, H, W) -> (B*T, C, H, W)
    (_, ba4), (_, bm4) = conn(fold(x_a), fold(x_m))
    torch.testing.assert_close(ba4, fold(ba))
    torch.testing.assert_close(bm4, fold(bm))
    with pytest.raises(ValueError, match="agree"):
        conn(x_a, x_m[:, :, :2])
    with pytest.raises(ValueError, match="channels"):
        conn(x_m, x_a)
    with pytest.raises(ValueError, match="kind"):
        CrossStreamConnection(4, 4, kind="concat")
    with pytest.raises(ValueError, match="direction"):
        CrossStreamConnection(4, 4, direction="up")


@pytest.mark.parametrize("kind,skip_out,both_out", [("direct_mul", [4.0, 4.0], [12.0, 0.0]),
                                                    ("direct_add", [5.0, 6.0], [20.0, 6.0])])
def test_direct_readings_give_their_formulas_on_constructed_inputs(kind, skip_out, both_out):
    """x_a = (1, 2), x_m = (3, -1) so f(x_m) = (3, 0), F(u) = u²: direct ⊙ has g = x_a ⊙ f(x_m) = (3, 0),
    so "skip" gives g + F(x_a) = (3 + 1, 0 + 4) and "both" g + F(g) = (3 + 9, 0 + 0); direct ⊕ has
    g = (4, 2): (4 + 1, 2 + 4) and (4 + 16, 2 + 4). The two readings differ wherever F(x_a) ≠ F(g)."""
    x_a, x_m = torch.tensor([[1.0, 2.0]]), torch.tensor([[3.0, -1.0]])  # (N, C) = (1, 2)
    for path, expected in (("skip", skip_out), ("both", both_out)):
        (skip, branch), _ = CrossStreamConnection(2, 2, kind=kind, direct_path=path)(x_a, x_m)
        assert (skip + branch.pow(2)).tolist() == [expected]


def test_direct_path_is_validated():
    with pytest.raises(ValueError, match="direct_path='trunk' is invalid"):
        CrossStreamConnection(4, 4, kind="direct_mul", direct_path="trunk")
    with pytest.raises(ValueError, match="direct_path"):
        cross_stream(torch.ones(1, 2), torch.ones(1, 2), "direct_add", "trunk")
    assert set(DIRECT_PATHS) == {"skip", "both"}
