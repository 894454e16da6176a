"""Model complexity: parameters and multiply-accumulates (MACs), recurrent cells included.

What ``count_macs`` counts, per clip:

* every op ``torch.utils.flop_counter.FlopCounterMode`` knows (convolutions, linear / matmul,
  ...), divided by 2: that counter reports 2 FLOPs per multiply-add. Convolutions count
  ``out_elements * C_in/groups * kT*kH*kW``; biases, BatchNorm, activations, pooling (incl.
  SoftPool's exp), elementwise products (e.g. the Squeeze-and-Recursion gating) and additions
  are **not** counted, as in most papers' GFLOPs tables.
* recurrent layers (``nn.GRU``, ``nn.LSTM``) counted by hand instead of by the counter, because the
  counter sees them inconsistently (the CPU LSTM runs as one fused ``mkldnn_rnn`` op it counts as
  0; the GRU decomposes into matmuls it does count). Whatever the counter attributed to an RNN
  module is removed and :func:`rnn_macs` is added, per time step, per layer, per direction::

      GRU : 3 h (in + h)   gate matmuls (W_ir, W_iz, W_in on x; W_hr, W_hz, W_hn on h)
            + 3 h          elementwise products r*(W_hn h + b), z*h_prev, (1 - z)*n
      LSTM: 4 h (in + h)   gate matmuls
            + 3 h          elementwise products f*c_prev, i*g, o*tanh(c)

  with ``in`` the layer's input size (``input_size`` for layer 0, ``h * directions`` above).
  Biases and sigmoid/tanh are not counted. (Why by hand, for SRTG's overhead and for the GFLOPs of
  MTNet's Table 3: :ref:`readings-srtg-overhead`, :ref:`readings-mtnet-complexity`.)

By default the model runs on PyTorch's ``meta`` device (shapes only, no memory, no arithmetic)
through ``torch.func.functional_call``, so the model itself is not touched. ``count_macs`` reports
MACs; "GMACs" = MACs / 1e9.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import torch
import torch.nn as nn
from torch.utils.flop_counter import FlopCounterMode

from ..models import build_model
from ..utils.checks import check_int

__all__ = ["count_params", "count_macs", "rnn_macs", "complexity_table", "model_complexity"]


def count_params(model: nn.Module, *, trainable_only: bool = False) -> int:
    """Number of parameters (shared tensors counted once)."""
    seen, n = set(), 0
    for p in model.parameters():
        if id(p) in seen or (trainable_only and not p.requires_grad):
            continue
        seen.add(id(p))
        n += p.numel()
    return n


def rnn_macs(rnn: nn.Module, seq_len: int, batch: int = 1) -> int:
    """Hand-counted MACs of one ``nn.GRU`` / ``nn.LSTM`` call over ``seq_len`` steps (module doc)."""
    if isinstance(rnn, nn.GRU):
        gates = 3
    elif isinstance(rnn, nn.LSTM):
        gates = 4
        if getattr(rnn, "proj_size", 0):
            raise ValueError("rnn_macs: LSTM with proj_size > 0 is not supported")
    else:
        raise ValueError(f"rnn_macs expects nn.GRU or nn.LSTM; got {type(rnn).__name__}")
    h, dirs = rnn.hidden_size, 2 if rnn.bidirectional else 1
    per_step = 0
    for layer in range(rnn.num_layers):
        inp = rnn.input_size if layer == 0 else h * dirs
        per_step += dirs * (gates * h * (inp + h) + 3 * h)
    return per_step * seq_len * batch


def _seq_len_batch(rnn: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    if x.dim() == 2:  # unbatched (L, H_in)
        return x.shape[0], 1
    return (x.shape[1], x.shape[0]) if rnn.batch_first else (x.shape[0], x.shape[1])


def count_macs(
    model: nn.Module,
    input_shape: Iterable[int] = (3, 16, 224, 224),
    batch: int = 1,
    *,
    device: str | torch.device = "meta",
) -> int:
    """MACs of one forward pass per clip of ``input_shape`` = ``(C, T, H, W)``; see the module doc.

    ``device="meta"`` (default) counts without computing; any other device runs the model for
    real under ``torch.no_grad()``. The model is evaluated in ``eval()`` mode (BatchNorm with
    running statistics; MACs do not depend on it) and its mode is restored afterwards.
    """
    input_shape = tuple(int(s) for s in input_shape)
    batch = check_int("batch", batch, min_value=1)
    device = torch.device(device)
    x = torch.zeros((batch, *input_shape), device=device)
    rnn_counted = [0]  # FLOPs the counter attributed to RNN modules (removed)
    rnn_hand = [0]  # hand-counted MACs (added)
    hooks = []

    def pre(mod, args):
        mod._macs_before = counter.get_total_flops()

    def post(mod, args, out):
        rnn_counted[0] += counter.get_total_flops() - mod._macs_before
        seq_len, b = _seq_len_batch(mod, args[0])
        rnn_hand[0] += rnn_macs(mod, seq_len, b)

    for m in model.modules():
        if isinstance(m, (nn.GRU, nn.LSTM)):
            hooks.append(m.register_forward_pre_hook(pre))
            hooks.append(m.register_forward_hook(post))
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            if device.type == "meta":
                tensors: Mapping[str, torch.Tensor] = {
                    **{k: torch.empty_like(v, device="meta") for k, v in model.named_parameters()},
                    **{k: torch.empty_like(v, device="meta") for k, v in model.named_buffers()},
                }
                torch.func.functional_call(model, tensors, (x,))
            else:
                model(x)
    finally:
        for h in hooks:
            h.remove()
        for m in model.modules():
            if hasattr(m, "_macs_before"):
                del m._macs_before
        model.train(was_training)
    total = (counter.get_total_flops() - rnn_counted[0]) // 2 + rnn_hand[0]
    return int(total // batch)


def complexity_table(models: Mapping[str, nn.Module], input_shape: Iterable[int] = (3, 16, 224, 224)) -> list[dict]:
    """Rows ``{"model", "params_M", "gmacs"}`` for ``{name: model}`` at ``input_shape`` (C, T, H, W)."""
    rows = []
    for name, model in models.items():
        rows.append(
            {
                "model": name,
                "params_M": count_params(model) / 1e6,
                "gmacs": count_macs(model, input_shape) / 1e9,
            }
        )
    return rows


def model_complexity(name: str, input_shapes: Mapping[str, Iterable[int]] | None = None, **kwargs) -> dict:
    """``{"params_M": ..., <key>: GMACs per clip of that (C, T, H, W) shape, ...}`` of
    ``build_model(name, **kwargs)``, built on the ``meta`` device (shapes only: no memory, no init
    cost, no arithmetic), so full-size networks count in about a second."""
    with torch.device("meta"):
        net = build_model(name, **kwargs)
    row = {"params_M": count_params(net) / 1e6}
    for key, shape in (input_shapes or {}).items():
        row[key] = count_macs(net, tuple(shape)) / 1e9
    return row
