"""Flow stacks (actionrec.layers.flow_stack): the index rule t - L//2 + j clamped, x/y interleaved."""

import numpy as np
import pytest
import torch

from actionrec.layers.flow_stack import stack_flow


def test_stack_flow_index_rule_and_interleaving():
    rng = np.random.default_rng(1)
    T, L = 7, 4
    flow = rng.standard_normal((T, 5, 6, 2)).astype(np.float32)  # (T', H, W, 2)
    idx = np.clip(np.arange(T)[:, None] - L // 2 + np.arange(L)[None, :], 0, T - 1)  # (T, L)
    assert idx[3].tolist() == [1, 2, 3, 4] and idx[0].tolist() == [0, 0, 0, 1] and idx[6].tolist() == [4, 5, 6, 6]
    ten = torch.from_numpy(flow).permute(3, 0, 1, 2)[None]  # (T, H, W, 2) -> (1, 2, T, H, W)
    st = stack_flow(ten, L)[0].permute(1, 0, 2, 3).numpy()  # (1, 2L, T, H, W) -> (T, 2L, H, W)
    assert st.shape == (T, 2 * L, 5, 6)
    for t in range(T):
        for j in range(L):
            assert np.array_equal(st[t, 2 * j], flow[idx[t, j], ..., 0])  # x of flow j
            assert np.array_equal(st[t, 2 * j + 1], flow[idx[t, j], ..., 1])  # y of flow j
    assert stack_flow(ten, 1) is ten


def test_batches_stack_independently_and_errors_name_the_parameter():
    flow = torch.randn(3, 2, 5, 4, 4)
    both = stack_flow(flow, 10)  # L > T: every index clamps into the clip
    assert both.shape == (3, 20, 5, 4, 4)
    assert all(torch.equal(both[i], stack_flow(flow[i:i + 1], 10)[0]) for i in range(3))
    with pytest.raises(ValueError, match="L="):
        stack_flow(flow, 0)
    with pytest.raises(ValueError, match=r"\(B, 2, T, H, W\)"):
        stack_flow(torch.randn(3, 3, 5, 4, 4), 2)
