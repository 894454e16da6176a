"""actionrec.analysis.heads.head_top1: the top-1 of each stream's own head of a two-stream net and of
their late fusion."""

import pytest
import torch

from actionrec.analysis.heads import head_top1
from actionrec.models import build_model


def test_head_top1_reads_each_stream_and_the_fusion(one_thread):
    torch.manual_seed(0)
    net = build_model("two_stream_small", num_classes=5, width=0.125, flow_channels=4)
    x, y = torch.randn(12, 5, 4, 32, 32), torch.randint(0, 5, (12,))
    loader = [(x[:8], y[:8]), (x[8:], y[8:])]
    net.train()
    top = head_top1(net, loader)
    assert not net.training  # eval mode: BatchNorm running statistics
    with torch.no_grad():
        la, lm = net.stream_logits(x)
        fused = net(x)
    assert top["appearance"] == (la.argmax(1) == y).sum().item() / 12
    assert top["motion"] == (lm.argmax(1) == y).sum().item() / 12
    assert top["fused"] == (fused.argmax(1) == y).sum().item() / 12  # the model's own output is the fusion
    with pytest.raises(ValueError, match="no clips"):
        head_top1(net, [])
