"""Flow stacks (actionrec.layers.flow_stack): centred (t - L//2 + j, the official code) and forward
(t + j, Simonyan & Zisserman eq. 1) index rules, clamped to the clip; x/y interleaved."""

import numpy as np
import pytest
import torch

from actionrec.layers.flow_stack import STACKINGS, stack_flow, stack_indices


def _flow(T, seed=1):
    rng = np.random.default_rng(seed)
    flow = rng.standard_normal((T, 5, 6, 2)).astype(np.float32)  # (T', H, W, 2)
    return flow, torch.from_numpy(flow).permute(3, 0, 1, 2)[None]  # (T, H, W, 2) -> (1, 2, T, H, W)


@pytest.mark.parametrize("stacking,offset", [("centred", -2), ("forward", 0)])
def test_stack_flow_index_rule_and_interleaving(stacking, offset):
    T, L = 7, 4
    flow, ten = _flow(T)
    idx = np.clip(np.arange(T)[:, None] + offset + np.arange(L)[None, :], 0, T - 1)  # (T, L)
    assert stack_indices(T, L, stacking).tolist() == idx.tolist()
    st = stack_flow(ten, L, stacking)[0].permute(1, 0, 2, 3).numpy()  # (1, 2L, T, H, W) -> (T, 2L, H, W)
    assert st.shape == (T, 2 * L, 5, 6)
    for t in range(T):
        for j in range(L):
            assert np.array_equal(st[t, 2 * j], flow[idx[t, j], ..., 0])  # x of flow j
            assert np.array_equal(st[t, 2 * j + 1], flow[idx[t, j], ..., 1])  # y of flow j
    assert stack_flow(ten, 1, stacking) is ten


def test_forward_stack_at_tau_holds_flows_tau_to_tau_plus_L_minus_1():
    """S&Z eq. 1: I_τ(2k-1) = d^x_{τ+k-1}, I_τ(2k) = d^y_{τ+k-1}, k = 1..L -- flows τ .. τ+L-1, as long
    as τ + L - 1 < T; past the clip's end the index clamps to T-1. Centred stacks differ at every τ."""
    T, L = 12, 5
    flow, ten = _flow(T, seed=3)
    fwd = stack_flow(ten, L, "forward")[0]  # (2L, T, H, W)
    cen = stack_flow(ten, L, "centred")[0]
    for tau in range(T):
        for k in range(1, L + 1):
            src = min(tau + k - 1, T - 1)  # clamped only at the end
            assert torch.equal(fwd[2 * k - 2, tau], torch.from_numpy(flow[src, ..., 0]))
            assert torch.equal(fwd[2 * k - 1, tau], torch.from_numpy(flow[src, ..., 1]))
        assert not torch.equal(fwd[:, tau], cen[:, tau])
    assert stack_indices(T, L, "forward")[3].tolist() == [3, 4, 5, 6, 7]
    assert stack_indices(T, L, "centred")[3].tolist() == [1, 2, 3, 4, 5]
    assert stack_indices(T, L, "forward")[T - 1].tolist() == [T - 1] * L  # the last stack: one flow, L times


@pytest.mark.parametrize("T,L,centred,forward", [(8, 10, 25, 44), (8, 4, 4, 6), (16, 4, 4, 6), (16, 10, 25, 45)])
def test_clamped_slots_per_clip_as_documented(T, L, centred, forward):
    """Repeated (clamped) slots per clip: centred clamps at both ends (≈ L²/4), forward at the end only
    (≈ L²/2); at T = 8, L = 10 the first centred stack holds flow 0 six times."""
    def repeats(stacking):
        idx = stack_indices(T, L, stacking)
        unclamped = torch.arange(T)[:, None] + (-(L // 2) if stacking == "centred" else 0) + torch.arange(L)
        return int((idx != unclamped).sum())
    assert (repeats("centred"), repeats("forward")) == (centred, forward)
    if (T, L) == (8, 10):
        assert stack_indices(T, L, "centred")[0].tolist() == [0] * 6 + [1, 2, 3, 4]


def test_batches_stack_independently_and_errors_name_the_parameter():
    flow = torch.randn(3, 2, 5, 4, 4)
    for stacking in STACKINGS:
        both = stack_flow(flow, 10, stacking)  # L > T: every index clamps into the clip
        assert both.shape == (3, 20, 5, 4, 4)
        assert all(torch.equal(both[i], stack_flow(flow[i:i + 1], 10, stacking)[0]) for i in range(3))
    with pytest.raises(ValueError, match="L="):
        stack_flow(flow, 0)
    with pytest.raises(ValueError, match=r"\(B, 2, T, H, W\)"):
        stack_flow(torch.randn(3, 3, 5, 4, 4), 2)
    with pytest.raises(ValueError, match="stacking='backward' is invalid"):
        stack_flow(flow, 2, "backward")
