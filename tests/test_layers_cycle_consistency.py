"""Cycle consistency (SRTG eq. 4-5): matches, permutations, ties, scale, gradients, batching."""

import pytest
import torch
import torch.nn.functional as F

from actionrec.layers.cycle_consistency import (
    CycleConsistency,
    cycle_consistency,
    nearest_frames,
    soft_nearest_neighbours,
    squared_distances,
)

T, C = 10, 8


def trajectory(batch=1, frames=T, channels=C, seed=0, scale=1.0):
    """Random walk with drift in C dims: not palindromic, consecutive frames ~10 apart, weights e^-30 off the match."""
    g = torch.Generator().manual_seed(seed)
    steps = 2.0 * torch.randn(batch, frames, channels, generator=g) + 3.0
    a = steps.cumsum(dim=1) * scale  # (batch, frames, channels)
    d2 = squared_distances(a, a) / scale**2 + 1e9 * torch.eye(frames)
    assert d2.min() > 30.0, "fixture: frames must be well separated"
    return a


def test_identical_sequences_soft_nn_is_the_frame_itself(one_thread):
    a = trajectory(batch=3)
    b_tilde, w = soft_nearest_neighbours(a, a.clone())
    assert b_tilde.shape == (3, T, C) and w.shape == (3, T, T)
    torch.testing.assert_close(b_tilde, a, atol=1e-4, rtol=1e-5)
    torch.testing.assert_close(w.sum(-1), torch.ones(3, T))
    torch.testing.assert_close(w, torch.eye(T).expand(3, T, T), atol=1e-6, rtol=0)
    assert torch.equal(nearest_frames(b_tilde, a), torch.arange(T).expand(3, T))
    cc = cycle_consistency(a, a.clone())
    assert isinstance(cc, CycleConsistency)
    assert cc.consistent.tolist() == [True] * 3
    assert not cc.errors.any()
    assert torch.equal(cc.index_ab, torch.arange(T).expand(3, T))
    assert torch.equal(cc.index_ba, torch.arange(T).expand(3, T))
    assert (cc.soft_score > 0.999).all() and (cc.soft_score <= 1).all()


def test_weights_match_reference_softmax_float64(one_thread):
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 5, 3, generator=g, dtype=torch.float64), torch.randn(2, 7, 3, generator=g, dtype=torch.float64)
    b_tilde, w = soft_nearest_neighbours(a, b, temperature=2.5)
    assert w.dtype == torch.float64 and w.shape == (2, 5, 7)
    d2 = ((a[:, :, None, :] - b[:, None, :, :]) ** 2).sum(-1)  # (2, 5, 7)
    ref = F.softmax(-d2 / 2.5, dim=-1)
    torch.testing.assert_close(w, ref)
    torch.testing.assert_close(b_tilde, ref @ b)
    idx = nearest_frames(b_tilde, b)
    assert idx.dtype == torch.long and idx.shape == (2, 5)
    assert torch.equal(idx, ((b_tilde[:, :, None] - b[:, None]) ** 2).sum(-1).argmin(-1))


def test_small_noise_stays_consistent(one_thread):
    a = trajectory(batch=4, seed=2)
    b = a + 0.05 * torch.randn(a.shape, generator=torch.Generator().manual_seed(3))
    cc = cycle_consistency(a, b)
    assert cc.consistent.all()
    assert (cc.soft_score > 0.99).all()


def test_time_reversed_b_is_not_consistent(one_thread):
    a = trajectory(batch=2, seed=4)
    b = a.flip(1)  # b_t = a_{T-1-t}; T even: no frame maps to itself
    cc = cycle_consistency(a, b)
    assert not cc.consistent.any()
    assert cc.errors.all()
    rev = torch.arange(T - 1, -1, -1).expand(2, T)
    assert torch.equal(cc.index_ab, rev) and torch.equal(cc.index_ba, rev)
    assert (cc.soft_score < 0.01).all()


def test_shuffled_b_errors_exactly_at_moved_frames(one_thread):
    a = trajectory(batch=1, seed=5)
    perm = torch.tensor([0, 3, 2, 1, 4, 9, 6, 5, 8, 7])  # fixed points 0, 2, 4, 6, 8
    b = a[:, perm]  # b_i = a_perm[i]
    cc = cycle_consistency(a, b)
    assert not cc.consistent.item()
    assert torch.equal(cc.index_ab[0], torch.argsort(perm))  # a_t sits at b_{perm^-1(t)}
    assert torch.equal(cc.index_ba[0], perm)  # b_t is a_{perm(t)}
    assert torch.equal(cc.errors[0], perm != torch.arange(T))


def test_one_swapped_pair_marks_exactly_those_frames(one_thread):
    a = trajectory(batch=1, seed=6)
    b = a.clone()
    b[:, [3, 7]] = a[:, [7, 3]]
    cc = cycle_consistency(a, b)
    expected = torch.zeros(1, T, dtype=torch.bool)
    expected[0, [3, 7]] = True
    assert torch.equal(cc.errors, expected)
    assert torch.equal(cc.consistent_frames, ~expected)
    assert cc.consistent.tolist() == [False]
    assert cc.index_ab[0, 3].item() == 7 and cc.index_ab[0, 7].item() == 3
    # soft score: 8 of 10 frames keep their diagonal weight
    assert cc.soft_score.item() == pytest.approx(0.8, abs=1e-3)


def test_large_magnitude_is_finite_and_exact(one_thread):
    a = trajectory(batch=2, seed=7, scale=1e4)  # features ~1e4-1e5
    b_tilde, w = soft_nearest_neighbours(a, a.clone())
    assert torch.isfinite(w).all() and torch.isfinite(b_tilde).all()
    torch.testing.assert_close(b_tilde, a)
    cc = cycle_consistency(a, a.clone())
    assert cc.consistent.all() and torch.isfinite(cc.soft_score).all()
    cc = cycle_consistency(a, a.flip(1))
    assert not cc.consistent.any() and torch.isfinite(cc.soft_score).all()


def test_large_common_offset_keeps_small_separations(one_thread):
    # features ~1e4 that differ by ~10: the ||a||^2 + ||b||^2 - 2ab expansion would lose them
    a = 1e4 + trajectory(batch=2, seed=14)
    b_tilde, w = soft_nearest_neighbours(a, a.clone())
    torch.testing.assert_close(w, torch.eye(T).expand(2, T, T), atol=1e-6, rtol=0)
    torch.testing.assert_close(b_tilde, a)
    assert cycle_consistency(a, a + 0.05).consistent.all()
    assert not cycle_consistency(a, a.flip(1)).consistent.any()


def test_one_direction_is_not_enough(one_thread):
    # 1-D case in channel 0: A = [0, 10, 20], B = [0, 10, 14].
    # A->B: every a_t is nearest b_t.  B->A: b_2 = 14 is nearer a_1 = 10 (4 < 6).
    a, b = torch.zeros(1, 3, C), torch.zeros(1, 3, C)
    a[0, :, 0] = torch.tensor([0.0, 10.0, 20.0])
    b[0, :, 0] = torch.tensor([0.0, 10.0, 14.0])
    cc = cycle_consistency(a, b)
    assert cc.index_ab.tolist() == [[0, 1, 2]] and cc.index_ba.tolist() == [[0, 1, 1]]
    assert cc.errors.tolist() == [[False, False, True]] and cc.consistent.tolist() == [False]
    # soft score: diagonal weights 1, 1, 1 (A->B) and 1, 1, ~0 (B->A)
    assert cc.soft_score.item() == pytest.approx((1 + 2 / 3) / 2, abs=1e-3)
    swapped = cycle_consistency(b, a)  # symmetric definition
    assert swapped.index_ab.tolist() == [[0, 1, 1]] and torch.equal(swapped.errors, cc.errors)
    torch.testing.assert_close(swapped.soft_score, cc.soft_score)


def test_identical_frames_ties_are_finite(one_thread):
    a = torch.ones(2, 4, C, requires_grad=True)  # every frame equal: all distances 0
    b = torch.ones(2, 4, C, requires_grad=True)
    cc = cycle_consistency(a, b)
    for t in cc:
        if t.is_floating_point():
            assert torch.isfinite(t).all()
    torch.testing.assert_close(cc.weights_ab, torch.full((2, 4, 4), 0.25))
    assert torch.equal(cc.index_ab, torch.zeros(2, 4, dtype=torch.long))  # ties -> lowest index
    assert cc.errors[:, 0].logical_not().all() and cc.errors[:, 1:].all()
    assert cc.soft_score.allclose(torch.tensor(0.25))
    cc.soft_score.sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()


def test_soft_score_gradients_flow(one_thread):
    g = torch.Generator().manual_seed(8)
    a = torch.randn(3, 6, 4, generator=g, requires_grad=True)
    b = torch.randn(3, 6, 4, generator=g, requires_grad=True)
    cc = cycle_consistency(a, b, temperature=4.0)
    assert cc.soft_score.requires_grad and not cc.consistent.requires_grad
    assert ((cc.soft_score >= 0) & (cc.soft_score <= 1)).all()
    cc.soft_score.sum().backward()
    for t in (a, b):
        assert torch.isfinite(t.grad).all() and t.grad.abs().sum() > 0
    # moving b towards a raises the score (gradient ascent step)
    with torch.no_grad():
        before = cycle_consistency(a, b, temperature=4.0).soft_score
        after = cycle_consistency(a, b + 0.05 * b.grad, temperature=4.0).soft_score
    assert (after > before).all()


def test_temperature_sharpens(one_thread):
    a = trajectory(batch=1, seed=9)
    b = a + torch.randn(a.shape, generator=torch.Generator().manual_seed(10))
    sharp = cycle_consistency(a, b, temperature=0.5).soft_score
    flat = cycle_consistency(a, b, temperature=200.0).soft_score
    assert sharp.item() > flat.item() + 0.1
    for bad in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="temperature"):
            cycle_consistency(a, b, temperature=bad)
        with pytest.raises(ValueError, match="temperature"):
            soft_nearest_neighbours(a, b, temperature=bad)


def test_batched_equals_per_sample(one_thread):
    a = torch.cat([trajectory(seed=11), trajectory(seed=12), torch.randn(2, T, C)])  # (4, T, C)
    b = torch.cat([a[:1] + 0.01, a[1:2].flip(1), torch.randn(2, T, C)])
    cc = cycle_consistency(a, b, temperature=3.0)
    for i in range(4):  # loop only in the test
        one = cycle_consistency(a[i : i + 1], b[i : i + 1], temperature=3.0)
        for name, batched, single in zip(CycleConsistency._fields, cc, one):
            if batched.is_floating_point():
                torch.testing.assert_close(batched[i : i + 1], single, msg=name)
            else:
                assert torch.equal(batched[i : i + 1], single), name
    assert cc.consistent[:2].tolist() == [True, False]


def test_dtypes_and_autocast(one_thread):
    a = trajectory(batch=2, seed=13)
    ref = cycle_consistency(a, a.flip(1))
    half = cycle_consistency(a.bfloat16(), a.flip(1).half())
    assert half.weights_ab.dtype == torch.float32 and half.soft_score.dtype == torch.float32
    assert torch.equal(half.consistent, ref.consistent)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        auto = cycle_consistency(a, a + 0.01)
        b_tilde, _ = soft_nearest_neighbours(a, a + 0.01)
    assert auto.weights_ab.dtype == torch.float32
    assert b_tilde.dtype == torch.float32
    torch.testing.assert_close(b_tilde, a + 0.01)  # float32 accuracy (a bf16 matmul is ~1e-2 off)
    assert auto.consistent.all()


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match="a must be"):
        cycle_consistency(torch.randn(4, 8), torch.randn(1, 4, 8))
    with pytest.raises(ValueError, match="same batch size and channels"):
        soft_nearest_neighbours(torch.randn(1, 4, 8), torch.randn(1, 4, 7))
    with pytest.raises(ValueError, match="same number of frames"):
        cycle_consistency(torch.randn(1, 4, 8), torch.randn(1, 5, 8))
    b_tilde, w = soft_nearest_neighbours(torch.randn(2, 3, 8), torch.randn(2, 5, 8))  # T_a != T_b is fine
    assert b_tilde.shape == (2, 3, 8) and w.shape == (2, 3, 5)
