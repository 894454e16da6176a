"""TSM temporal shift: the pure function against its definition, the TSN-layout module, errors."""

import pytest
import torch

from actionrec.layers.temporal_shift import TemporalShift, temporal_shift


@pytest.fixture(autouse=True)
def _seed(one_thread):
    torch.manual_seed(0)


def _reference(x, fold_div):
    """Loop over channels and frames: the definition in the module docstring."""
    b, c, t, h, w = x.shape
    fold = c // fold_div
    out = torch.zeros_like(x)
    for ci in range(c):
        for ti in range(t):
            src = ti + 1 if ci < fold else ti - 1 if ci < 2 * fold else ti
            if 0 <= src < t:
                out[:, ci, ti] = x[:, ci, src]
    return out


@pytest.mark.parametrize("c,t,fold_div", [(16, 8, 8), (17, 5, 8), (12, 3, 4), (8, 1, 8), (7, 4, 8)])
def test_shift_matches_definition(c, t, fold_div):
    x = torch.randn(2, c, t, 3, 2)
    assert torch.equal(temporal_shift(x, fold_div=fold_div), _reference(x, fold_div))


def test_shift_moves_one_eighth_each_way_zero_padded():
    x = torch.arange(1, 5.0).view(1, 1, 4, 1, 1).expand(1, 16, 4, 1, 1).contiguous()  # frame t holds t+1
    y = temporal_shift(x)[:, :, :, 0, 0]
    assert y[0, 0].tolist() == [2, 3, 4, 0] and y[0, 1].tolist() == [2, 3, 4, 0]  # channels 0-1: from t+1
    assert y[0, 2].tolist() == [0, 1, 2, 3] and y[0, 3].tolist() == [0, 1, 2, 3]  # channels 2-3: from t-1
    assert all(y[0, c].tolist() == [1, 2, 3, 4] for c in range(4, 16))


def test_module_on_tsn_layout_equals_function():
    b, c, t, h, w = 3, 16, 5, 4, 4
    x5 = torch.randn(b, c, t, h, w)
    x = x5.transpose(1, 2).reshape(b * t, c, h, w)  # (B, C, T, H, W) -> (B*T, C, H, W)
    y = TemporalShift(c, t)(x)
    ref = temporal_shift(x5).transpose(1, 2).reshape(b * t, c, h, w)
    assert y.shape == x.shape and torch.equal(y, ref)


def test_gradient_is_the_reverse_shift():
    x = torch.randn(2, 16, 6, 2, 2, requires_grad=True)
    g = torch.randn(2, 16, 6, 2, 2)
    temporal_shift(x).backward(g)
    gs = g.clone()
    fold = 2
    expected = torch.zeros_like(g)
    expected[:, :fold, 1:] = gs[:, :fold, :-1]
    expected[:, fold : 2 * fold, :-1] = gs[:, fold : 2 * fold, 1:]
    expected[:, 2 * fold :] = gs[:, 2 * fold :]
    assert torch.equal(x.grad, expected)


def test_bad_arguments_raise_naming_the_parameter():
    with pytest.raises(ValueError, match="fold_div"):
        temporal_shift(torch.randn(1, 8, 2, 1, 1), fold_div=1)
    with pytest.raises(ValueError, match="B, C, T, H, W"):
        temporal_shift(torch.randn(8, 2, 1, 1))
    with pytest.raises(ValueError, match="num_segments"):
        TemporalShift(8, 0)
    with pytest.raises(ValueError, match="channels"):
        TemporalShift(0, 4)
    with pytest.raises(ValueError, match="num_segments=4"):
        TemporalShift(8, 4)(torch.randn(6, 8, 2, 2))
    with pytest.raises(ValueError, match="channels=8"):
        TemporalShift(8, 2)(torch.randn(4, 6, 2, 2))
    with pytest.raises(ValueError, match=r"B\*T, C, H, W"):
        TemporalShift(8, 2)(torch.randn(1, 8, 2, 2, 2))
