"""Gradient gating in cross-stream residual units: eq. 6-7 checked, and gate statistics of a model.

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks for Video Action
Recognition" (CVPR 2017, ``shared/papers/multiplier.txt``), Sec. 3.2, eq. 2-7. The layer is
:class:`actionrec.layers.fusion.CrossStreamConnection`; this module only *looks* at it (forward
hooks and tensor hooks, removed on exit), it never changes a model.

One residual unit of the appearance stream gated by the motion stream (``direction="m2a"``), with
``s = f(P x_m)`` the gate (``f = ReLU``, ``P`` = identity when the channels agree) and ``u`` the
branch input::

    ⊕ (eq. 2):  x̂_a = x_a + F(u),  u = x_a + s        ⊙ (eq. 5):  x̂_a = x_a + F(u),  u = x_a ⊙ s

With ``δ = ∂L/∂x̂_a`` and ``g = J_F(u)ᵀ δ`` (the gradient the branch hands back to its input),
the chain rule gives (eq. 3-4 and 6-7)::

    ⊕:  ∂L/∂x_a = δ + g                 ∂L/∂x_m = (motion's own path) + Pᵀ[g ⊙ f'(P x_m)]
    ⊙:  ∂L/∂x_a = δ + g ⊙ s             ∂L/∂x_m = (motion's own path) + Pᵀ[g ⊙ x_a ⊙ f'(P x_m)]

i.e. with ⊙ the appearance branch gradient is scaled by the motion signal ``s`` and the gradient
sent to the motion stream by the appearance signal ``x_a``. The paper's eq. 7 writes the last
factor as ``x_a`` alone; the ``f'(x_m)`` (a 0/1 mask for ReLU) is there too, and
:func:`unit_gradients` shows the difference (it is zero only where ``x_m > 0``). The skip path is
the identity here (the paper's ``f(x_a)`` equals ``x_a`` for the post-ReLU inputs of a unit).

API
---
* :func:`unit_gradients`: one gated unit (any kind of :data:`~actionrec.layers.fusion.FUSION_KINDS`,
  any direction) forward + backward; autograd's input gradients next to the analytic eq. 3-4 / 6-7
  expressions and their max abs difference.
* :class:`GateRecorder`: ``with GateRecorder(model) as rec: loss.backward()`` -- per connection
  and receiving stream, the detached gate ``s``, the receiver's input, the branch gradient ``g``
  and the sender's total gradient.
* :func:`gate_statistics`: runs a model on clips (training loss, backward) and summarises every
  gate: mean / quantiles, fraction of zero and near-zero gates, the gradient-scale ratio
  ``‖∂u/∂x_rᵀ g‖ / ‖g‖`` (how much the gate scales the receiver's branch gradient; 1 for ⊕) and
  the cross share ``‖cross gradient‖ / ‖total gradient‖`` at the sender, optionally the gate's
  mean on moving vs static pixels.
* :func:`gating_sentence`: the notebook's computed verdict on how the gates changed in training.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layers.fusion import CrossStreamConnection

__all__ = ["unit_gradients", "GateRecorder", "gate_statistics", "gating_sentence", "connections_of", "GATE_STAT_KEYS"]

#: The per-gate statistics :func:`gate_statistics` returns (besides ``connection``/``receiver``).
GATE_STAT_KEYS = ("gate_mean", "gate_rms", "gate_q10", "gate_q50", "gate_q90", "frac_zero", "frac_near_zero",
                  "grad_scale", "cross_share", "moving_ratio")


def connections_of(model: nn.Module) -> list[tuple[str, CrossStreamConnection]]:
    """``(name, module)`` of every :class:`CrossStreamConnection` in ``model`` (e.g. ``"connections.0"``)."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, CrossStreamConnection)]


def _gate_deriv(conn: CrossStreamConnection, x: torch.Tensor, proj) -> torch.Tensor:
    """``f'(P x)``: 1 where the pre-activation is > 0 for ReLU, 1 everywhere for the identity gate."""
    pre = proj(x) if proj is not None else x
    return (pre > 0).to(x.dtype) if conn.gate == "relu" else torch.ones_like(pre)


# ----------------------------------------------------------------------------------------------
# One unit: autograd vs eq. 3-4 / 6-7
# ----------------------------------------------------------------------------------------------


def unit_gradients(conn: CrossStreamConnection, branch_a: Callable, branch_m: Callable, x_a: torch.Tensor,
                   x_m: torch.Tensor, w_a: torch.Tensor, w_m: torch.Tensor) -> dict[str, Any]:
    """Forward + backward of one two-stream depth and the analytic gradients, side by side.

    Each stream's unit computes ``x̂ = skip + F(branch)`` (the pre-activation output, the paper's
    ``x̂_{l+1}``), ``(skip, branch)`` from ``conn(x_a, x_m)``; the loss is
    ``L = <w_a, x̂_a> + <w_m, x̂_m>`` (so ``δ_a = w_a``, ``δ_m = w_m``). ``branch_a`` / ``branch_m``
    are the residual branches F (callables; ``P`` must be the identity, i.e. equal channels, for
    the analytic side). Returns tensors (detached): ``out_a, out_m`` (x̂), ``gate_a, gate_m``
    (the signals ``s`` each receiver got; None if it receives none), ``g_a, g_m`` (branch gradients
    ``J_Fᵀ δ``), ``autograd_a, autograd_m`` (∂L/∂x_a, ∂L/∂x_m), ``analytic_a, analytic_m`` (eq. 3-4 /
    6-7 including ``f'``), ``paper_a, paper_m`` (the same without the ``f'`` mask, as eq. 4 / 7 are
    printed), ``cross_a, cross_m`` (the part of each gradient that came through the other stream's
    branch), and floats ``max_abs_diff_a``, ``max_abs_diff_m`` (autograd vs analytic) and
    ``max_abs_diff_paper`` (autograd vs the printed form, over both streams).
    """
    if conn.proj_m2a is not None or conn.proj_a2m is not None:
        raise ValueError("unit_gradients needs equal channels in both streams (no projection P); "
                         f"got channels_a={conn.channels_a}, channels_m={conn.channels_m}")
    x_a = x_a.detach().requires_grad_()
    x_m = x_m.detach().requires_grad_()
    (skip_a, br_a), (skip_m, br_m) = conn(x_a, x_m)
    out_a, out_m = skip_a + branch_a(br_a), skip_m + branch_m(br_m)
    loss = (w_a * out_a).sum() + (w_m * out_m).sum()
    autograd_a, autograd_m = torch.autograd.grad(loss, (x_a, x_m))

    xa, xm = x_a.detach(), x_m.detach()
    recv_a, recv_m = "appearance" in conn.receivers, "motion" in conn.receivers
    s_a = conn.gate_signal(xm, None) if recv_a else None  # gate the appearance unit receives: f(x_m)
    s_m = conn.gate_signal(xa, None) if recv_m else None
    fp_m, fp_a = _gate_deriv(conn, xm, None), _gate_deriv(conn, xa, None)  # f'(x_m), f'(x_a)

    def branch_grad(fn, u, w):
        u = u.detach().requires_grad_()
        (g,) = torch.autograd.grad((w * fn(u)).sum(), u)
        return g

    def local(x_r, s, w, fn):
        """(∂L/∂x_r through this unit, gradient sent to the sender / f'(sender), g) for receiver input x_r."""
        if s is None:  # not gated: x̂ = x + F(x)
            g = branch_grad(fn, x_r, w)
            return w + g, torch.zeros_like(x_r), g
        skip, u = conn.fuse(x_r, s)
        g = branch_grad(fn, u, w)
        mul, direct = conn.kind.endswith("mul"), conn.kind.startswith("direct")
        # gradient arriving at the fused signal: the branch's (residual), the skip's (direct "skip"), both ("both")
        up = g if not direct else (w if conn.direct_path == "skip" else w + g)
        rest = w if not direct else (g if conn.direct_path == "skip" else 0.0)  # what reaches x_r unfused
        own = rest + (up * s if mul else up)
        to_sender = up * x_r if mul else up  # ∂L/∂s, before f'
        return own, to_sender, g

    own_a, send_from_a, g_a = local(xa, s_a, w_a, branch_a)
    own_m, send_from_m, g_m = local(xm, s_m, w_m, branch_m)
    cross_a = send_from_m * fp_a if recv_m else torch.zeros_like(xa)  # motion's branch → appearance input
    cross_m = send_from_a * fp_m if recv_a else torch.zeros_like(xm)  # appearance's branch → motion input
    analytic_a, analytic_m = own_a + cross_a, own_m + cross_m
    paper_a = own_a + (send_from_m if recv_m else 0.0)
    paper_m = own_m + (send_from_a if recv_a else 0.0)
    return dict(
        out_a=out_a.detach(), out_m=out_m.detach(), gate_a=s_a, gate_m=s_m, g_a=g_a, g_m=g_m,
        autograd_a=autograd_a, autograd_m=autograd_m, analytic_a=analytic_a, analytic_m=analytic_m,
        paper_a=paper_a, paper_m=paper_m, cross_a=cross_a, cross_m=cross_m,
        max_abs_diff_a=(autograd_a - analytic_a).abs().max().item(),
        max_abs_diff_m=(autograd_m - analytic_m).abs().max().item(),
        max_abs_diff_paper=max((autograd_a - paper_a).abs().max().item(), (autograd_m - paper_m).abs().max().item()),
    )


# ----------------------------------------------------------------------------------------------
# Recording the gates of a model
# ----------------------------------------------------------------------------------------------


class GateRecorder:
    """Hooks on every :class:`CrossStreamConnection` of ``model`` (a context manager).

    After a forward (and a backward, for the gradient fields) inside the ``with`` block,
    ``rec.records[name][receiver]`` holds, for the latest forward, detached tensors:
    ``x_r`` (receiver input), ``x_s`` (sender input), ``gate`` (``s = f(P x_s)``), ``skip_grad`` /
    ``branch_grad`` (∂L/∂ of the unit's skip and branch inputs, None until a backward reached
    them) and ``sender_grad`` (the sender input's total gradient). Hooks are removed on exit.
    Tensors keep their layout (``(B*T, C, H, W)`` for the two-stream nets).
    """

    def __init__(self, model: nn.Module):
        self.model = model
        self.connections = connections_of(model)
        if not self.connections:
            raise ValueError("model has no CrossStreamConnection (build it with fusion=... , not fusion=None)")
        self.records: dict[str, dict[str, dict[str, Optional[torch.Tensor]]]] = {}
        self._handles: list = []

    def __enter__(self) -> "GateRecorder":
        for name, conn in self.connections:
            self._handles.append(conn.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, name: str):
        def hook(conn: CrossStreamConnection, args, output):
            x_a, x_m = args
            recs = {}
            for receiver, (skip, branch) in zip(("appearance", "motion"), output):
                if receiver not in conn.receivers:
                    continue
                x_r, x_s = (x_a, x_m) if receiver == "appearance" else (x_m, x_a)
                proj = conn.proj_m2a if receiver == "appearance" else conn.proj_a2m
                with torch.no_grad():
                    gate = conn.gate_signal(x_s, proj)
                rec = dict(x_r=x_r.detach(), x_s=x_s.detach(), gate=gate.detach(), skip_grad=None, branch_grad=None,
                           sender_grad=None)
                for key, t in (("skip_grad", skip), ("branch_grad", branch), ("sender_grad", x_s)):
                    if t.requires_grad and not (key != "sender_grad" and t is x_r):  # an unfused path is x_r itself
                        t.register_hook(self._store(rec, key))
                recs[receiver] = rec
            self.records[name] = recs

        return hook

    @staticmethod
    def _store(rec: dict, key: str):
        def store(grad: torch.Tensor):
            rec[key] = grad.detach()

        return store


def _cross_grads(conn: CrossStreamConnection, receiver: str, rec: Mapping[str, Any]
                 ) -> tuple[Optional[torch.Tensor], torch.Tensor]:
    """``(∂u/∂x_rᵀ g or None without a recorded branch gradient, cross gradient at the sender)`` of one
    recorded receiver (autograd on the recorded inputs)."""
    proj = conn.proj_m2a if receiver == "appearance" else conn.proj_a2m
    with torch.enable_grad():
        x_r = rec["x_r"].detach().requires_grad_()
        x_s = rec["x_s"].detach().requires_grad_()
        skip, branch = conn.fuse(x_r, conn.gate_signal(x_s, proj))
        outs, grads, recv = [], [], None  # direct_path="skip": the branch is x_r, unrecorded, and only the skip crosses
        if rec["branch_grad"] is not None:
            outs.append(branch)
            grads.append(rec["branch_grad"])
            (recv,) = torch.autograd.grad(branch, x_r, grad_outputs=rec["branch_grad"], retain_graph=True)
        if conn.kind.startswith("direct") and rec["skip_grad"] is not None:
            outs.append(skip)
            grads.append(rec["skip_grad"])
        (cross,) = torch.autograd.grad(outs, x_s, grad_outputs=grads, allow_unused=True)
    return recv, (torch.zeros_like(x_s) if cross is None else cross)


def _moving_mask(mask: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Motion mask ``(B, T, H, W)`` bool → ``(B*T, 1, h, w)`` bool at ``like``'s resolution: a feature
    cell counts as moving when any input pixel it covers moves (max-pool)."""
    b, t, h, w = mask.shape
    if like.dim() == 5:  # (B, C, T', h', w') layouts: pool time as well
        return F.adaptive_max_pool3d(mask.float()[:, None], like.shape[2:]) > 0.5  # (B, 1, T', h', w')
    m = mask.reshape(b * t, 1, h, w).float()  # (B, T, H, W) -> (B*T, 1, H, W)
    return F.adaptive_max_pool2d(m, like.shape[2:]) > 0.5


@torch.no_grad()
def _summaries(conn: CrossStreamConnection, receiver: str, rec: Mapping[str, Any], *, moving=None,
               near_zero: float, sample: int, gen: torch.Generator) -> dict[str, Any]:
    gate = rec["gate"].float()
    flat = gate.flatten()
    out: dict[str, Any] = dict(sum=flat.sum().item(), sq=flat.pow(2).sum().item(), n=flat.numel(),
                               zero=(flat == 0).sum().item())
    idx = torch.randint(0, flat.numel(), (min(sample, flat.numel()),), generator=gen)
    out["sample"] = flat[idx].cpu().numpy()
    out["gate_abs_mean"] = flat.abs().mean().item()
    out["near_zero_thr"] = near_zero * out["gate_abs_mean"]
    out["near"] = (flat.abs() < out["near_zero_thr"]).sum().item()
    if rec["branch_grad"] is not None or rec["skip_grad"] is not None:
        recv, cross = _cross_grads(conn, receiver, rec)
        out["g2"] = rec["branch_grad"].float().pow(2).sum().item() if recv is not None else math.nan
        out["recv2"] = recv.float().pow(2).sum().item() if recv is not None else math.nan
        out["cross2"] = cross.float().pow(2).sum().item()
        out["total2"] = rec["sender_grad"].float().pow(2).sum().item() if rec["sender_grad"] is not None else math.nan
    if moving is not None:
        m = _moving_mask(moving.to(gate.device), gate).expand_as(gate)
        out["mov_sum"], out["mov_n"] = gate[m].sum().item(), m.sum().item()
        out["sta_sum"], out["sta_n"] = gate[~m].sum().item(), (~m).sum().item()
    return out


def gate_statistics(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, batch_size: int = 32,
                    moving: Optional[torch.Tensor] = None, near_zero: float = 0.1, train_mode: bool = True,
                    sample: int = 20000, device: str | torch.device | None = None) -> list[dict[str, Any]]:
    """Statistics of every gate of ``model`` on clips ``x`` (N, C, T, H, W) with labels ``y`` (N,).

    Per batch: forward, loss (``model.training_loss`` if it exists, else cross-entropy), backward
    w.r.t. the input clip only (``loss.backward(inputs=[x])``: the recorder's tensor hooks fire,
    parameters get no ``.grad``). ``train_mode=True`` uses batch statistics in BatchNorm, as during
    training (the model's running statistics and training flag are restored afterwards).

    Returns one row per (connection, receiving stream), keys ``connection, receiver, stage`` and
    :data:`GATE_STAT_KEYS`:

    * ``gate_mean``, ``gate_rms``, ``gate_q10/q50/q90``: the gate values ``s = f(P x_s)`` (quantiles
      from a random sample of ``sample`` values per batch, seeded);
    * ``frac_zero``: gates exactly 0 (the ReLU closed); ``frac_near_zero``: ``|s|`` below
      ``near_zero`` times the gate's mean absolute value (per batch);
    * ``grad_scale``: ``‖∂u/∂x_rᵀ g‖ / ‖g‖`` over all elements: how much the gate scales the
      gradient that the receiver's residual branch hands back to the receiver (⊙: ``‖g ⊙ s‖/‖g‖``;
      ⊕: exactly 1). Were ``g`` independent of ``s`` it would be ``gate_rms``; above it, the branch
      gradient is concentrated where the gate is open. NaN for a direct connection feeding the
      skip path only (``direct_path="skip"``: the branch reads the ungated input);
    * ``cross_share``: ``‖gradient reaching the sender through this connection‖ / ‖sender's total
      gradient‖`` (the ``g ⊙ x_a ⊙ f'`` term of eq. 7 relative to everything the sender receives);
    * ``moving_ratio``: mean gate on feature cells that cover a moving pixel / mean gate on the
      others, when ``moving`` (N, T, H, W) bool is given (e.g. ground-truth flow magnitude > 0.5 px),
      else NaN (also NaN when, at a coarse stage, every cell covers a moving pixel).
    """
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} clips but y has {y.shape[0]} labels")
    if moving is not None and (moving.dim() != 4 or moving.shape[0] != x.shape[0] or moving.shape[1:] != x.shape[2:]):
        raise ValueError(f"moving must be (N, T, H, W) = {(x.shape[0], *x.shape[2:])} bool; got {tuple(moving.shape)}")
    device = next(model.parameters()).device if device is None else torch.device(device)
    was_training = model.training
    bn_state = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    model.train(train_mode)
    conns = dict(connections_of(model))
    gen = torch.Generator().manual_seed(0)
    acc: dict[tuple[str, str], list[dict]] = {}
    try:
        with GateRecorder(model) as rec:
            for i in range(0, len(x), batch_size):
                xb, yb = x[i:i + batch_size].to(device).detach(), y[i:i + batch_size].to(device)
                xb.requires_grad_(True)  # the recorded tensors are in a graph even if parameters are frozen
                if hasattr(model, "training_loss"):
                    _, loss = model.training_loss(xb, yb)
                else:
                    loss = F.cross_entropy(model(xb).float(), yb)
                loss.backward(inputs=[xb])  # fires the tensor hooks; only xb accumulates .grad
                for name, per in rec.records.items():
                    for receiver, r in per.items():
                        mv = moving[i:i + batch_size] if moving is not None else None
                        acc.setdefault((name, receiver), []).append(
                            _summaries(conns[name], receiver, r, moving=mv, near_zero=near_zero, sample=sample, gen=gen))
    finally:
        model.train(was_training)
        model.load_state_dict(bn_state, strict=False)
    rows = []
    for k, ((name, receiver), parts) in enumerate(acc.items()):
        n = sum(p["n"] for p in parts)
        q = np.quantile(np.concatenate([p["sample"] for p in parts]), [0.1, 0.5, 0.9])
        row = dict(connection=name, receiver=receiver, stage=k + 1,
                   gate_mean=sum(p["sum"] for p in parts) / n, gate_rms=math.sqrt(sum(p["sq"] for p in parts) / n),
                   gate_q10=float(q[0]), gate_q50=float(q[1]),
                   gate_q90=float(q[2]), frac_zero=sum(p["zero"] for p in parts) / n,
                   frac_near_zero=sum(p["near"] for p in parts) / n, grad_scale=math.nan, cross_share=math.nan,
                   moving_ratio=math.nan)
        if all("g2" in p for p in parts):
            g2 = sum(p["g2"] for p in parts)
            row["grad_scale"] = math.sqrt(sum(p["recv2"] for p in parts) / g2) if g2 > 0 else math.nan
            t2 = sum(p["total2"] for p in parts)
            row["cross_share"] = math.sqrt(sum(p["cross2"] for p in parts) / t2) if t2 > 0 else math.nan
        if moving is not None:
            mn, sn = sum(p["mov_n"] for p in parts), sum(p["sta_n"] for p in parts)
            if mn > 0 and sn > 0:
                mov, sta = sum(p["mov_sum"] for p in parts) / mn, sum(p["sta_sum"] for p in parts) / sn
                row["moving_ratio"] = mov / sta if sta > 0 else math.inf
        rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------
# Verdict
# ----------------------------------------------------------------------------------------------


def gating_sentence(history: Sequence[Mapping[str, Any]]) -> str:
    """One computed paragraph on how the gates changed during training.

    ``history``: rows of :func:`gate_statistics` with an ``epoch`` field added (several epochs,
    the same connections). Compares the first and the last epoch per stage: the gradient-scale
    ratio, the fraction of closed gates and (when present) the moving/static ratio.
    """
    if not history:
        raise ValueError("gating_sentence: history is empty")
    epochs = sorted({r["epoch"] for r in history})
    first, last = epochs[0], epochs[-1]
    stages = sorted({(r["stage"], r["receiver"]) for r in history})
    by = {(r["epoch"], r["stage"], r["receiver"]): r for r in history}
    parts = []
    for st, recv in stages:
        a, b = by.get((first, st, recv)), by.get((last, st, recv))
        if a is None or b is None:
            continue
        txt = (f"stage {st}: gradient scale {a['grad_scale']:.2f} → {b['grad_scale']:.2f}, "
               f"closed gates {100 * a['frac_zero']:.0f}% → {100 * b['frac_zero']:.0f}%")
        if not (math.isnan(a["moving_ratio"]) or math.isnan(b["moving_ratio"])):
            txt += f", gate on moving/static cells {a['moving_ratio']:.2f}× → {b['moving_ratio']:.2f}×"
        parts.append(txt)
    rs = [by[(last, st, recv)] for st, recv in stages if (last, st, recv) in by]
    lo = min(rs, key=lambda r: r["grad_scale"])
    hi = max(rs, key=lambda r: r["grad_scale"])
    mov = [r for r in rs if not math.isnan(r["moving_ratio"])]
    rms = [r for r in rs if not math.isnan(r.get("gate_rms", math.nan))]
    conc = ""
    if rms:
        n_conc = sum(r["grad_scale"] > r["gate_rms"] for r in rms)
        conc = (f" The gates' RMS is {min(r['gate_rms'] for r in rms):.2f}–{max(r['gate_rms'] for r in rms):.2f}, so at "
                f"{n_conc} of {len(rms)} connections the branch gradient is concentrated where the gate is open "
                "(gradient scale > gate RMS).")
    tail = ""
    if mov:
        n_more = sum(r["moving_ratio"] > 1 for r in mov)
        tail = (f" After training, {n_more} of {len(mov)} gates are wider open on moving cells than on static ones "
                f"(motion gating in the literal sense)" + ("." if n_more else "; none is."))
    return (f"From epoch {first} to epoch {last}: " + "; ".join(parts) + ". "
            f"At the end, the gate scales the appearance branch gradient by between {lo['grad_scale']:.2f}× "
            f"(stage {lo['stage']}) and {hi['grad_scale']:.2f}× (stage {hi['stage']}) relative to ⊕, which passes it "
            f"unscaled (1×)." + conc + tail)
