"""Squeeze and Recursion (actionrec.layers.squeeze_recursion): the GRU/LSTM output fused back
without a sigmoid, residual (default) or multiplicative."""

import pytest
import torch
import torch.nn as nn

from actionrec.layers.squeeze_recursion import SqueezeRecursion


@pytest.mark.parametrize("fusion", ["residual", "mul"])
@pytest.mark.parametrize("mode", ["gru", "lstm"])
def test_squeeze_recursion_fuses_rnn_output(mode, fusion):
    sr = SqueezeRecursion(6, mode=mode, fusion=fusion)
    assert isinstance(sr.rnn, nn.GRU if mode == "gru" else nn.LSTM) and sr.rnn.num_layers == 2
    x = torch.randn(2, 6, 5, 3, 4)
    seq = x.mean(dim=(3, 4)).transpose(1, 2)  # (B, T, C)
    out, _ = sr.rnn(seq)
    a = out.transpose(1, 2)[..., None, None]  # no sigmoid
    expected = x + x * a if fusion == "residual" else x * a
    torch.testing.assert_close(sr(x), expected)
    pooled, a_star = sr.recur(x)
    torch.testing.assert_close(pooled, seq)
    assert a_star.shape == (2, 5, 6)


def test_squeeze_recursion_default_is_residual_and_rejects_unknown_fusion():
    assert SqueezeRecursion(4).fusion == "residual"
    with pytest.raises(ValueError, match="fusion"):
        SqueezeRecursion(4, fusion="sigmoid")
