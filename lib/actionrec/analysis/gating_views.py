"""Gradient gating, seen twice: one cross-stream residual unit by hand, and the gates of a trained
two-stream network over the snapshots of its run. Built on :mod:`.gradient_gating`.

Paper: Feichtenhofer, Pinz & Wildes, "Spatiotemporal Multiplier Networks" (CVPR 2017), Sec. 3.2,
eq. 2-7: with ⊙ the appearance branch gradient is scaled by the motion signal ``f(x_m)`` and the
gradient sent to the motion stream by the appearance signal ``x_a``.

One unit (float64, batch 1)::

    frame t of a clip ─→ x_a (1, 3, H, W) in [0, 1]        flow t → t+1 ─→ x_m = (|d|, dx, dy) (1, 3, H, W)
    conv 3x3 → tanh → conv 3x3 (seeded) per stream, CrossStreamConnection(kind, "m2a")
      ─→ unit_gradients: autograd vs eq. 3-4 / 6-7 (with and without the f' mask)

* :func:`unit_example`, :func:`unit_comparison`, :func:`unit_panels`, :func:`moving_shares`,
  :func:`unit_check` — the unit's inputs, its ⊕ and ⊙ gradients, the maps to draw, the share of
  each gradient on the moving pixels, and autograd against the equations on random upstream
  gradients.
* :func:`moving_cells`, :func:`snapshot_gate_history`, :func:`gate_maps`, :func:`history_table` —
  :func:`~.gradient_gating.gate_statistics` after every epoch of a run (from its weight snapshots),
  the first connection's gate over the frames of one clip, and the table of selected epochs.

Datasets are passed in (anything with SynthActions' ``action_window``, ``render`` and ``flow``);
models are rebuilt by name with :func:`actionrec.models.build_model`.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..layers.fusion import CrossStreamConnection
from ..models import build_model
from .gradient_gating import GateRecorder, connections_of, gate_statistics, unit_gradients

__all__ = ["unit_example", "unit_comparison", "unit_panels", "moving_shares", "unit_check", "moving_cells",
           "snapshot_gate_history", "gate_maps", "history_table"]

#: The two residual connections the unit compares.
KINDS = ("residual_add", "residual_mul")


def unit_example(ds, index: int, *, frames: int) -> dict[str, Any]:
    """The unit's inputs from item ``index`` of ``ds``, at the frame in the middle of its action window
    (at most ``frames - 2``, so that it has a flow field t → t+1): ``x_a`` (1, 3, H, W) the RGB frame
    in [0, 1], ``x_m`` (1, 3, H, W) = (|d|, dx, dy) of its exact flow, ``t`` the frame, ``moving``
    (H, W) bool, where the flow is above half a pixel."""
    w0, w1 = ds.action_window(index)
    t = min(max(int(round((w0 + w1) / 2)), 0), frames - 2)  # a frame with a flow field t -> t+1
    rgb = torch.from_numpy(ds.render(index)[t]).permute(2, 0, 1).double()[None] / 255.0  # (1, 3, H, W)
    flow = torch.from_numpy(ds.flow(index)[t]).permute(2, 0, 1).double()[None]  # (1, 2, H, W)
    x_m = torch.cat([flow.norm(dim=1, keepdim=True), flow], dim=1)  # (1, 3, H, W): |d|, dx, dy
    return dict(x_a=rgb, x_m=x_m, t=t, moving=(x_m[0, 0] > 0.5).numpy())


def unit_comparison(x_a: torch.Tensor, x_m: torch.Tensor, *, seed: int) -> dict[str, Any]:
    """Both streams' residual branches (conv 3x3 → tanh → conv 3x3, float64, built after
    ``torch.manual_seed(seed)``) and :func:`~.gradient_gating.unit_gradients` of each kind of
    :data:`KINDS` with a uniform upstream gradient (δ = 1). Returns ``{"branch_a", "branch_m",
    "unit": {kind: unit_gradients(...)}}``."""
    c = x_a.shape[1]
    torch.manual_seed(seed)
    branch_a = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.Tanh(), nn.Conv2d(c, c, 3, padding=1)).double()
    branch_m = nn.Sequential(nn.Conv2d(c, c, 3, padding=1), nn.Tanh(), nn.Conv2d(c, c, 3, padding=1)).double()
    ones = torch.ones_like(x_a)
    unit = {kind: unit_gradients(CrossStreamConnection(c, c, kind=kind, direction="m2a"), branch_a, branch_m,
                                 x_a, x_m, ones, ones) for kind in KINDS}
    return dict(branch_a=branch_a, branch_m=branch_m, unit=unit)


def _chan_abs(t: torch.Tensor) -> np.ndarray:
    return t[0].abs().sum(0).numpy()  # (1, C, H, W) -> (H, W): |t| summed over channels


def unit_panels(unit: Mapping[str, Mapping[str, Any]], x_a: torch.Tensor) -> dict[str, list[np.ndarray]]:
    """Per kind, the maps to draw: the appearance input (H, W, 3), the gate f(x_m) and the branch
    input u (means over channels), |∂L/∂x_a − δ| (the appearance branch gradient: g, or g ⊙ f(x_m))
    and |gradient sent to x_m through the branch| (sums over channels), each (H, W)."""
    out = {}
    for kind, r in unit.items():
        u = x_a * r["gate_a"] if kind == "residual_mul" else x_a + r["gate_a"]  # branch input u
        out[kind] = [x_a[0].permute(1, 2, 0).numpy(), r["gate_a"][0].mean(0).numpy(), u[0].mean(0).numpy(),
                     _chan_abs(r["autograd_a"] - 1.0), _chan_abs(r["cross_m"])]
    return out


def moving_shares(unit: Mapping[str, Mapping[str, Any]], moving: np.ndarray) -> list[dict[str, Any]]:
    """Per kind, the share of the appearance branch gradient and of the gradient sent to the motion
    stream that lies on the ``moving`` pixels (H, W), and both gradients' norms (δ = 1)."""
    rows = []
    for kind, r in unit.items():
        app, crs = _chan_abs(r["autograd_a"] - 1.0), _chan_abs(r["cross_m"])
        rows.append(dict(kind=kind, app_on_moving=float(app[moving].sum() / max(app.sum(), 1e-300)),
                         cross_on_moving=float(crs[moving].sum() / max(crs.sum(), 1e-300)),
                         app_grad_norm=float(np.sqrt((app ** 2).sum())), cross_grad_norm=float(np.sqrt((crs ** 2).sum()))))
    return rows


def unit_check(branch_a: nn.Module, branch_m: nn.Module, x_a: torch.Tensor, x_m: torch.Tensor, *, seed: int,
               n_random: int = 5) -> dict[str, Any]:
    """Autograd against eq. 3-4 / 6-7 for each kind of :data:`KINDS`, on the uniform upstream gradient
    and ``n_random`` random ones (a generator seeded with ``seed``). Returns ``{"rows": [{kind,
    max_abs_diff_a, max_abs_diff_m, max_abs_diff_paper (without f', as printed), grad_scale}],
    "worst", "paper_gap", "cases", "closed" (share of the (pixel, flow channel) pairs that move with
    d < 0: where the ReLU gate is closed and no gradient reaches x_m)}``."""
    gen = torch.Generator().manual_seed(seed)
    ones = torch.ones_like(x_a)
    rows, cases = [], 0
    for kind in KINDS:
        conn = CrossStreamConnection(x_a.shape[1], x_m.shape[1], kind=kind, direction="m2a")
        ups = [(ones, ones)] + [(torch.randn(x_a.shape, generator=gen, dtype=torch.float64),
                                 torch.randn(x_a.shape, generator=gen, dtype=torch.float64)) for _ in range(n_random)]
        res = [unit_gradients(conn, branch_a, branch_m, x_a, x_m, wa, wm) for wa, wm in ups]
        cases += len(ups)
        scale = max(max(r["autograd_a"].abs().max().item(), r["autograd_m"].abs().max().item()) for r in res)
        rows.append(dict(kind=kind, max_abs_diff_a=max(r["max_abs_diff_a"] for r in res),
                         max_abs_diff_m=max(r["max_abs_diff_m"] for r in res),
                         max_abs_diff_paper=max(r["max_abs_diff_paper"] for r in res), grad_scale=scale))
    return dict(rows=rows, worst=max(max(c["max_abs_diff_a"], c["max_abs_diff_m"]) for c in rows),
                paper_gap=max(c["max_abs_diff_paper"] for c in rows), cases=cases,
                closed=float(((x_m[0, 1:] < 0) & (x_m[0, :1] > 0.5)).double().mean()))


def moving_cells(flow: np.ndarray | torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """``(N, T, H, W)`` bool: pixels whose exact flow ``(N, T-1, H, W, 2)`` moves more than ``threshold``
    px; the last frame repeats the one before, like the flow input of the network."""
    speed = torch.as_tensor(flow).norm(dim=-1)  # (N, T-1, H, W)
    return torch.cat([speed, speed[:, -1:]], dim=1) > threshold


def _snapshot(model: str, model_kwargs: Mapping[str, Any], num_classes: int, path: str | os.PathLike,
              device) -> nn.Module:
    net = build_model(model, num_classes=num_classes, **model_kwargs)
    net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return net.to(device)


def snapshot_gate_history(model: str, model_kwargs: Mapping[str, Any], num_classes: int,
                          snapshots: Mapping[int, str | os.PathLike], x: torch.Tensor, y: torch.Tensor, *,
                          val_top1: Mapping[int, Any], batch_size: int, moving: torch.Tensor | None = None,
                          device="cpu") -> list[dict[str, Any]]:
    """:func:`~.gradient_gating.gate_statistics` of ``model`` (rebuilt with ``model_kwargs``) at every
    snapshot ``{epoch: weights file}`` on clips ``x`` / labels ``y``: one row per (epoch, connection,
    receiver), with ``epoch`` and ``val_top1`` (``val_top1.get(epoch)``) first."""
    history = []
    for epoch, path in snapshots.items():
        net = _snapshot(model, model_kwargs, num_classes, path, device)
        for row in gate_statistics(net, x, y, batch_size=batch_size, moving=moving, device=device):
            history.append(dict(epoch=epoch, val_top1=val_top1.get(epoch), **row))
    return history


def gate_maps(model: str, model_kwargs: Mapping[str, Any], num_classes: int,
              snapshots: Mapping[int, str | os.PathLike], x: torch.Tensor, *, device="cpu") -> dict[int, np.ndarray]:
    """The first connection's gate for one clip ``x`` (1, C, T, H, W) at each snapshot ``{epoch: weights
    file}``, mean over channels: ``{epoch: (T, h, w)}`` (the gating stream's feature grid)."""
    maps = {}
    for epoch, path in snapshots.items():
        net = _snapshot(model, model_kwargs, num_classes, path, device).eval()
        with GateRecorder(net) as rec, torch.no_grad():
            net(x.to(device))
        first = rec.records[connections_of(net)[0][0]]
        maps[epoch] = first[next(iter(first))]["gate"].float().mean(1).cpu().numpy()  # (B*T, h, w) = (T, h, w)
    return maps


def history_table(history: Sequence[Mapping[str, Any]], epochs: Sequence[int]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of the gate statistics at ``epochs`` (for a markdown table)."""
    header = ["epoch", "val top-1", "stage", "gate mean / RMS", "q10 / q50 / q90", "closed", "near 0", "gradient scale",
              "cross share", "moving / static"]
    rows = [[r["epoch"], "–" if r["val_top1"] is None else f"{100 * r['val_top1']:.0f}%",
             f"{r['stage']} ({r['receiver'][0]})", f"{r['gate_mean']:.3f} / {r['gate_rms']:.3f}",
             f"{r['gate_q10']:.2f} / {r['gate_q50']:.2f} / {r['gate_q90']:.2f}", f"{100 * r['frac_zero']:.0f}%",
             f"{100 * r['frac_near_zero']:.0f}%", f"{r['grad_scale']:.2f}", f"{r['cross_share']:.2f}",
             f"{r['moving_ratio']:.2f}"] for r in history if r["epoch"] in epochs]
    return header, rows
