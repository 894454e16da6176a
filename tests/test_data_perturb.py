"""Temporal perturbations: reversal, shuffle, speed change on (C, T, H, W) and (B, C, T, H, W)."""

import pytest
import torch

from actionrec.data import perturb as tf


def stamped(shape):
    """A clip whose every pixel of frame t equals t (time is dim -3)."""
    T = shape[-3]
    t = torch.arange(T, dtype=torch.float32).view(T, 1, 1)  # (T, 1, 1) broadcast over H, W
    return t.expand(shape).clone()


def frame_ids(clip):
    """The stamp of each output frame, checking that it is constant within the frame."""
    ids = clip.select(-1, 0).select(-1, 0)  # (..., T)
    assert torch.equal(clip, ids[..., None, None].expand_as(clip))
    return ids.reshape(-1, ids.shape[-1])[0].long().tolist()  # first clip / channel


SHAPES = [(3, 8, 4, 5), (2, 3, 8, 4, 5)]


@pytest.mark.parametrize("shape", SHAPES)
def test_reversal_twice_is_identity(shape):
    x = torch.randn(shape)
    r = tf.reverse_time(x)
    assert r.shape == x.shape and not torch.equal(r, x)
    assert torch.equal(tf.reverse_time(r), x)
    assert frame_ids(tf.reverse_time(stamped(shape))) == list(range(7, -1, -1))
    # only the time axis moves: frame t of the output is frame T-1-t of the input
    assert torch.equal(r.select(-3, 0), x.select(-3, 7))


@pytest.mark.parametrize("shape", SHAPES)
def test_shuffle_is_a_deterministic_permutation(shape):
    x = stamped(shape)
    a = tf.shuffle_frames(x, seed=3)
    ids = frame_ids(a)
    assert sorted(ids) == list(range(8)) and ids != list(range(8))
    assert torch.equal(a, tf.shuffle_frames(x, seed=3))  # same seed, same order
    assert frame_ids(tf.shuffle_frames(x, seed=4)) != ids  # another seed, another order
    assert ids == tf.shuffle_index(8, seed=3).tolist()
    if len(shape) == 5:  # every clip of a batch gets the same order
        assert torch.equal(a[0], a[1])
    y = torch.randn(shape)
    assert torch.equal(tf.shuffle_frames(y, seed=3), y.index_select(-3 % y.dim(), torch.tensor(ids)))


@pytest.mark.parametrize("shape", SHAPES)
def test_speed_x2_takes_every_other_frame_and_keeps_T(shape):
    x = stamped(shape)
    fast = tf.change_speed(x, 2)
    assert fast.shape == x.shape
    assert frame_ids(fast) == [0, 2, 4, 6, 0, 2, 4, 6]  # "loop": played twice
    assert frame_ids(tf.change_speed(x, 2.0, mode="hold")) == [0, 2, 4, 6, 7, 7, 7, 7]
    assert frame_ids(tf.change_speed(x, 0.5)) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert torch.equal(tf.change_speed(x, 1), x)
    assert tf.speed_index(9, 1 / 3).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # no float round-down


def test_perturb_names_and_other_layouts():
    x = stamped((3, 8, 2, 2))
    assert frame_ids(tf.perturb(x, "none")) == list(range(8))
    assert frame_ids(tf.perturb(x, "reverse")) == list(range(7, -1, -1))
    assert frame_ids(tf.perturb(x, "speed x2")) == [0, 2, 4, 6, 0, 2, 4, 6]
    assert frame_ids(tf.perturb(x, "shuffle", seed=5)) == tf.shuffle_index(8, seed=5).tolist()
    seq = torch.arange(8.0)[None, :, None].expand(2, 8, 3)  # (B, T, C) features, time on dim 1
    assert tf.reverse_time(seq, dim=1)[0, :, 0].tolist() == list(range(7, -1, -1))
    assert tf.perturb(seq, "speed x0.5", dim=1)[1, :, 2].tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert set(tf.PERTURBATIONS) == {"none", "reverse", "shuffle", "speed x0.5", "speed x2"}


def test_inputs_untouched():
    x = torch.randn(3, 6, 2, 2)
    before = x.clone()
    for out in (tf.reverse_time(x), tf.shuffle_frames(x, seed=0), tf.change_speed(x, 0.5)):
        out.add_(1)
    assert torch.equal(x, before)


@pytest.mark.parametrize("factor", [0, -1, float("nan"), float("inf"), "2", True])
def test_bad_factor_names_the_parameter(factor):
    with pytest.raises(ValueError, match="factor"):
        tf.change_speed(torch.zeros(3, 4, 2, 2), factor)


def test_other_bad_inputs_name_the_parameter():
    with pytest.raises(ValueError, match="mode"):
        tf.change_speed(torch.zeros(3, 4, 2, 2), 2, mode="wrap")
    with pytest.raises(ValueError, match=r"clip must be \(C, T, H, W\)"):
        tf.reverse_time(torch.zeros(4, 2, 2))
    with pytest.raises(ValueError, match="seed"):
        tf.shuffle_frames(torch.zeros(3, 4, 2, 2), seed=1.5)
    with pytest.raises(ValueError, match="perturbation"):
        tf.perturb(torch.zeros(3, 4, 2, 2), "slow")
    with pytest.raises(ValueError, match="index"):
        tf.select_frames(torch.zeros(3, 4, 2, 2), torch.tensor([0, 4]))
