"""actionrec.analysis.complexity: MACs of convolutions and recurrent cells, parameter counts."""

import pytest
import torch
import torch.nn as nn

from actionrec.analysis.complexity import count_macs, count_params, model_complexity, rnn_macs
from actionrec.models.mtnet import mtnet_32 as mtnet32


@pytest.mark.parametrize(
    "cin,cout,k,stride,groups,shape",
    [(3, 8, (3, 7, 7), (1, 2, 2), 1, (3, 8, 16, 16)), (16, 32, (3, 3, 3), 2, 1, (16, 5, 9, 9)),
     (16, 32, (1, 3, 3), 1, 8, (16, 4, 8, 8)), (8, 4, 1, 1, 4, (8, 2, 3, 3))],
)
@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_conv3d_macs_analytic(cin, cout, k, stride, groups, shape, device):
    k3 = k if isinstance(k, tuple) else (k, k, k)
    conv = nn.Conv3d(cin, cout, k3, stride, tuple(kk // 2 for kk in k3), groups=groups, bias=True)
    out = conv(torch.zeros(1, *shape)).shape
    expected = out[1] * out[2] * out[3] * out[4] * (cin // groups) * k3[0] * k3[1] * k3[2]
    assert count_macs(conv, shape, device=device) == expected
    assert count_macs(conv, shape, batch=3, device=device) == expected  # per clip


class _SeqModel(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):  # x (B, C, T, H, W) -> sequence (B, T, C)
        return self.rnn(x.mean(dim=(3, 4)).transpose(1, 2))[0]


@pytest.mark.parametrize("device", ["meta", "cpu"])
def test_gru_and_lstm_macs_formula(device):
    c, h, t = 12, 12, 5
    gru = nn.GRU(c, h, num_layers=2, batch_first=True)
    expected_gru = t * (3 * h * (c + h) + 3 * h + 3 * h * (h + h) + 3 * h)  # layer 0 + layer 1
    assert rnn_macs(gru, seq_len=t) == expected_gru
    assert count_macs(_SeqModel(gru), (c, t, 2, 2), device=device) == expected_gru
    lstm = nn.LSTM(c, h, num_layers=2, batch_first=True)
    expected_lstm = t * (4 * h * (c + h) + 3 * h + 4 * h * (2 * h) + 3 * h)
    assert rnn_macs(lstm, seq_len=t) == expected_lstm
    assert count_macs(_SeqModel(lstm), (c, t, 2, 2), batch=2, device=device) == expected_lstm
    bi = nn.GRU(4, 3, num_layers=1, bidirectional=True)
    assert rnn_macs(bi, seq_len=2, batch=3) == 2 * 3 * 2 * (3 * 3 * (4 + 3) + 3 * 3)
    with pytest.raises(ValueError, match="GRU or nn.LSTM"):
        rnn_macs(nn.Linear(2, 2), 3)


def test_count_params_and_shared_weights():
    lin = nn.Linear(4, 3)
    assert count_params(lin) == 15
    shared = nn.Sequential(lin, lin)
    assert count_params(shared) == 15
    lin.bias.requires_grad_(False)
    assert count_params(lin, trainable_only=True) == 12
    net = mtnet32(width=0.25)
    assert count_params(net) == sum(p.numel() for p in net.parameters())


def test_mtnet_meta_equals_cpu_and_restores_mode():
    net = mtnet32(width=0.25, num_classes=5).train()
    macs_meta = count_macs(net, (3, 16, 32, 32))
    assert net.training
    assert count_macs(net, (3, 16, 32, 32), device="cpu") == macs_meta
    # r < 1 costs fewer MACs than r = 1 (eq. 1-2); sub-streams cost fewer still
    assert count_macs(mtnet32(width=0.25, r=1.0), (3, 16, 32, 32)) > macs_meta
    assert count_macs(mtnet32(width=0.25, g=8), (3, 16, 32, 32)) < macs_meta


def test_bad_batch_raises_naming_the_parameter():
    with pytest.raises(ValueError, match="batch"):
        count_macs(nn.Conv3d(2, 4, 1), (2, 1, 2, 2), batch=0)


def test_model_complexity_counts_on_the_meta_device():
    row = model_complexity("mtnet32", {"clip": (3, 16, 32, 32)}, num_classes=5, width=0.25)
    net = mtnet32(num_classes=5, width=0.25)
    assert row["params_M"] == count_params(net) / 1e6
    assert row["clip"] == count_macs(net, (3, 16, 32, 32)) / 1e9
    assert set(model_complexity("mtnet32", num_classes=5, width=0.25)) == {"params_M"}
