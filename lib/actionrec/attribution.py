"""Which moments of a clip does a trained video classifier use? Attribution over time with captum.

Methods (all through captum, ``captum.attr``; nothing hand-written):

* Integrated Gradients (Sundararajan, Taly & Yan, ICML 2017), ``IntegratedGradients``:
  ``IG_i(x) = (x_i - x'_i) ∫_0^1 ∂F(x' + a (x - x'))/∂x_i da`` with the zero baseline ``x' = 0``
  (for SynthActions: the mean-grey clip in the RGB channels and *no motion* in the flow channels);
  completeness ``Σ_i IG_i = F(x) - F(x')`` holds up to the Riemann error captum reports as the
  convergence delta.
* Saliency (Simonyan et al., 2014), ``Saliency``: ``|∂F/∂x|``.
* Grad-CAM (Selvaraju et al., ICCV 2017), ``LayerGradCam`` on a stage output (default the last):
  ``relu(Σ_c α_c A_c)`` with ``α_c`` the gradient averaged over the layer's positions, upsampled to
  the clip with ``LayerAttribution.interpolate`` (trilinear over ``(T, H, W)``). For 3D networks
  (MTNet, r3d) ``α_c`` averages over ``T', H', W'``; the two-stream networks fold frames into the
  batch (``(B*T, C, h, w)``), so captum averages per frame: one 2D Grad-CAM per frame, unfolded
  back to ``(B, T, h, w)``. MTNet's stage output is a pair (short, long stream): both maps are
  upsampled and summed before the ReLU.

``F`` is the logit of ``target`` (the true class by default in the notebook). Shapes: clips
``x (B, C, T, H, W)`` (C = 3 RGB, or 5 = RGB + per-frame flow for the two-stream nets); input
attributions come back as ``(B, C, T, H, W)``, Grad-CAM maps as ``(B, T, H, W)``::

    x ─→ captum (IG | Saliency) ─→ attr (B, C, T, H, W) ─→ |·| Σ_{c∈group,h,w} ─→ (B, T) / Σ_T ─→ frame importance
    x ─→ captum LayerGradCam(layer) ─→ (B, 1, T', h, w) or (B*T, 1, h, w) ─→ interpolate ─→ (B, T, H, W)
    frame importance (B, T) + action mask (B, T) (SynthActions.action_mask) ─→ mass inside the window (B,)

Summaries: :func:`frame_importance`, :func:`window_mass`, :func:`channel_share` (RGB vs flow
channels), :func:`summarize_window_mass` (mean over clips per model and method) and
:func:`window_sentence` (the computed verdict). :func:`plot_clip_attribution` draws heatmaps over
the frames with the per-frame curve and the action window.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

__all__ = ["METHODS", "input_attributions", "gradcam_layers", "gradcam", "frame_importance", "window_mass",
           "channel_share", "window_profile", "PROFILE_EDGES", "summarize_window_mass", "window_sentence",
           "plot_clip_attribution"]

#: Methods of :func:`input_attributions` (plus ``"gradcam"``, :func:`gradcam`).
METHODS = ("integrated_gradients", "saliency", "gradcam")


def _check_x(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 5:
        raise ValueError(f"x must be a clip batch (B, C, T, H, W); got {type(x).__name__} {tuple(getattr(x, 'shape', ()))}")


def _targets(target, b: int) -> torch.Tensor:
    t = torch.as_tensor(target, dtype=torch.long).reshape(-1)
    if t.numel() == 1:
        t = t.expand(b)
    if t.numel() != b:
        raise ValueError(f"target must be one class or one per clip ({b}); got {t.numel()}")
    return t


def input_attributions(model: nn.Module, x: torch.Tensor, target, *, method: str = "integrated_gradients",
                       n_steps: int = 32, internal_batch_size: Optional[int] = None,
                       baseline: float = 0.0) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
    """``(attr (B, C, T, H, W), delta (B,) or None)``: captum attributions of ``target``'s logit to the input.

    ``method``: ``"integrated_gradients"`` (``n_steps`` Gauss-Legendre points, constant
    ``baseline``; ``delta`` = captum's convergence delta, ``Σ attr - (F(x) - F(x'))``) or
    ``"saliency"`` (absolute gradient; ``delta`` None). The model runs in eval mode (its training
    flag is restored); its parameters get no ``.grad``.
    """
    from captum.attr import IntegratedGradients, Saliency

    _check_x(x)
    if method not in ("integrated_gradients", "saliency"):
        raise ValueError(f"method={method!r} is not valid; use 'integrated_gradients' or 'saliency' (or gradcam())")
    if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 2:
        raise ValueError(f"n_steps={n_steps!r} must be an int >= 2")
    tgt = _targets(target, x.shape[0]).to(x.device)
    was = model.training
    model.eval()
    req = [p.requires_grad for p in model.parameters()]
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        x = x.detach().clone().requires_grad_()
        if method == "saliency":
            return Saliency(model).attribute(x, target=tgt, abs=True).detach(), None
        attr, delta = IntegratedGradients(model).attribute(
            x, baselines=baseline, target=tgt, n_steps=n_steps, internal_batch_size=internal_batch_size,
            return_convergence_delta=True)
        return attr.detach(), delta.detach()
    finally:
        for p, r in zip(model.parameters(), req):
            p.requires_grad_(r)
        model.train(was)


def gradcam_layers(model: nn.Module, stage: int = 4) -> dict[str, nn.Module]:
    """The layer(s) Grad-CAM reads for ``model`` at ``stage`` (1-4; 4 = the last conv stage).

    Two-stream nets (:class:`~actionrec.models.two_stream.STMultiplierNet`): the last unit of that
    stage in each stream, ``{"appearance": ..., "motion": ...}``; MTNet: the stage's output after
    its Squeeze-and-Recursion (a (short, long) pair), ``{"mtnet": ...}``; video ResNets:
    ``{"layer<stage>": ...}``. Other models raise (pass a layer to :func:`gradcam` directly).
    """
    if isinstance(stage, bool) or not isinstance(stage, int) or not 1 <= stage <= 4:
        raise ValueError(f"stage={stage!r} must be an int in 1..4 (4 = the last conv stage)")
    if hasattr(model, "appearance") and hasattr(model, "motion") and hasattr(model.appearance, "stages"):
        return {"appearance": model.appearance.stages[stage - 1][-1], "motion": model.motion.stages[stage - 1][-1]}
    if hasattr(model, "srs") and hasattr(model, "stages"):
        return {"mtnet": model.srs[stage - 1]}
    if hasattr(model, f"layer{stage}"):
        return {f"layer{stage}": getattr(model, f"layer{stage}")}
    raise ValueError(f"no Grad-CAM layer known for {type(model).__name__}; pass layer= to gradcam()")


def gradcam(model: nn.Module, x: torch.Tensor, target, *, layer: nn.Module) -> torch.Tensor:
    """Grad-CAM of ``target``'s logit at ``layer``, upsampled to the clip: ``(B, T, H, W)``, >= 0.

    The layer's output may be ``(B, C, T', h, w)``, frames folded ``(B*T, C, h, w)``, or a tuple
    of such (MTNet's stream pair: maps summed after upsampling, then the ReLU).
    """
    from captum.attr import LayerAttribution, LayerGradCam

    _check_x(x)
    b, _, t, h, w = x.shape
    tgt = _targets(target, b).to(x.device)
    was = model.training
    model.eval()
    try:
        cams = LayerGradCam(model, layer).attribute(x.detach(), target=tgt, relu_attributions=False)
    finally:
        model.train(was)
    cams = cams if isinstance(cams, tuple) else (cams,)
    total = torch.zeros(b, 1, t, h, w, dtype=x.dtype, device=x.device)
    for cam in cams:
        cam = cam.detach()
        if cam.dim() == 4 and cam.shape[0] == b * t:  # folded frames
            # (B*T, 1, h', w') -> (B, T, 1, h', w') -> (B, 1, T, h', w')
            cam = cam.view(b, t, 1, *cam.shape[2:]).transpose(1, 2)
        if cam.dim() != 5 or cam.shape[0] != b:
            raise ValueError(f"Grad-CAM of shape {tuple(cam.shape)} is neither (B, 1, T', h, w) nor (B*T, 1, h, w)")
        total = total + LayerAttribution.interpolate(cam.to(x.dtype), (t, h, w), interpolate_mode="trilinear")
    return total.clamp_min(0)[:, 0]  # (B, 1, T, H, W) -> (B, T, H, W)


# ----------------------------------------------------------------------------------------------
# Summaries over time and channels
# ----------------------------------------------------------------------------------------------


def frame_importance(attr: torch.Tensor, *, channels: Optional[Sequence[int]] = None) -> torch.Tensor:
    """Per-frame share of the attribution mass: ``(B, T)``, each row summing to 1.

    ``attr``: input attributions ``(B, C, T, H, W)`` (``|·|`` summed over ``channels`` -- all by
    default -- and H, W) or a Grad-CAM map ``(B, T, H, W)`` (summed over H, W). A clip without any
    mass gets a uniform row.
    """
    if attr.dim() == 5:
        a = attr.abs() if channels is None else attr[:, list(channels)].abs()
        per = a.sum(dim=(1, 3, 4))  # (B, C, T, H, W) -> (B, T)
    elif attr.dim() == 4:
        per = attr.abs().sum(dim=(2, 3))  # (B, T, H, W) -> (B, T)
    else:
        raise ValueError(f"attr must be (B, C, T, H, W) or (B, T, H, W); got {tuple(attr.shape)}")
    per = per.double()
    tot = per.sum(1, keepdim=True)
    uniform = torch.full_like(per, 1.0 / per.shape[1])
    return torch.where(tot > 0, per / tot.clamp_min(1e-300), uniform)


def window_mass(importance: torch.Tensor, mask) -> torch.Tensor:
    """Fraction of each clip's frame importance ``(B, T)`` inside its action mask ``(B, T)`` bool: ``(B,)``."""
    mask = torch.as_tensor(np.asarray(mask), dtype=torch.bool, device=importance.device)
    if mask.shape != importance.shape:
        raise ValueError(f"mask {tuple(mask.shape)} must match importance {tuple(importance.shape)} (B, T)")
    return (importance * mask).sum(1) / importance.sum(1).clamp_min(1e-300)


def channel_share(attr: torch.Tensor, groups: Mapping[str, Sequence[int]]) -> dict[str, torch.Tensor]:
    """``{group: (B,)}``: the share of ``|attr|`` (B, C, T, H, W) in each channel group, e.g.
    ``{"rgb": [0, 1, 2], "flow": [3, 4]}`` (groups should partition the channels)."""
    if attr.dim() != 5:
        raise ValueError(f"attr must be (B, C, T, H, W); got {tuple(attr.shape)}")
    per_c = attr.abs().double().sum(dim=(2, 3, 4))  # (B, C)
    tot = per_c.sum(1).clamp_min(1e-300)
    out = {}
    for name, chans in groups.items():
        bad = [c for c in chans if not 0 <= c < attr.shape[1]]
        if bad:
            raise ValueError(f"group {name!r} has channels {bad} outside 0..{attr.shape[1] - 1}")
        out[name] = per_c[:, list(chans)].sum(1) / tot
    return out


#: Bin edges of :func:`window_profile` in window-relative time (0 = action start, 1 = action end).
PROFILE_EDGES = (-2.0, -1.0, -0.5, 0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)


def window_profile(importance: torch.Tensor, windows, edges: Sequence[float] = PROFILE_EDGES) -> np.ndarray:
    """Frame importance ``(B, T)`` as a function of time *relative to each clip's action window*.

    Frame t of a clip with window ``(s, e)`` (frames, ``windows`` (B, 2)) sits at ``r = (t - s) / (e - s)``
    (0 = the action starts, 1 = it ends). Returns the mean of ``T * importance`` over all frames
    falling in each bin of ``edges`` (``len(edges) - 1`` values; 1 = the uniform level, NaN for an
    empty bin): the average attention profile over the course of the action, across clips whose
    windows start and last differently.
    """
    imp = np.asarray(importance.detach().cpu() if isinstance(importance, torch.Tensor) else importance, dtype=np.float64)
    win = np.asarray(windows, dtype=np.float64).reshape(-1, 2)
    if imp.ndim != 2 or win.shape[0] != imp.shape[0]:
        raise ValueError(f"importance {imp.shape} must be (B, T) and windows {win.shape} (B, 2)")
    b, t = imp.shape
    rel = (np.arange(t)[None, :] - win[:, :1]) / np.maximum(win[:, 1:] - win[:, :1], 1e-9)  # (B, T)
    dens = imp * t
    which = np.digitize(rel, np.asarray(edges)) - 1  # bin index, -1 / len(edges)-1 outside
    out = np.full(len(edges) - 1, np.nan)
    for k in range(len(edges) - 1):
        sel = which == k
        if sel.any():
            out[k] = dens[sel].mean()
    return out


def summarize_window_mass(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean over clips per ``(model, method)`` of per-clip records with ``model, method, mass, share``
    (mass inside the window, the window's share of the clip). Each entry: ``model, method, n,
    mass, share, mass_ci`` (95% t half-width), ``ratio = mass / share`` (1: no preference for the
    action's frames) and ``frac_clips_above`` (clips whose mass exceeds their share)."""
    from .experiments import mean_ci

    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["model"], r["method"]), []).append(r)
    out = []
    for (model, method), rs in groups.items():
        mass, _, ci = mean_ci([float(r["mass"]) for r in rs])
        share = float(np.mean([r["share"] for r in rs]))
        out.append(dict(model=model, method=method, n=len(rs), mass=mass, mass_ci=ci, share=share,
                        ratio=mass / share if share > 0 else math.nan,
                        frac_clips_above=float(np.mean([r["mass"] > r["share"] for r in rs]))))
    return out


def window_sentence(summary: Sequence[Mapping[str, Any]]) -> str:
    """The computed verdict on :func:`summarize_window_mass`: which (model, method) pairs put more of
    their attribution inside the action window than the window's share of the clip, beyond the CI."""
    if not summary:
        raise ValueError("window_sentence: summary is empty")
    clear = [e for e in summary if e["mass"] - (e["mass_ci"] if e["mass_ci"] == e["mass_ci"] else 0) > e["share"]]
    below = [e for e in summary if e["mass"] + (e["mass_ci"] if e["mass_ci"] == e["mass_ci"] else 0) < e["share"]]
    best = max(summary, key=lambda e: e["ratio"])
    worst = min(summary, key=lambda e: e["ratio"])
    name = lambda e: f"{e['model']} / {e['method']}"  # noqa: E731
    s = (f"{len(clear)} of {len(summary)} (model, method) pairs put clearly more attribution inside the action "
         f"window than the window's share of the clip (mass − 95% CI > share)")
    s += (": " + ", ".join(name(e) for e in clear) + "." if clear else ".")
    if below:
        s += f" {len(below)} put clearly less: " + ", ".join(name(e) for e in below) + "."
    s += (f" Most concentrated: {name(best)}, {100 * best['mass']:.0f}% of the mass in a window that covers "
          f"{100 * best['share']:.0f}% of the frames ({best['ratio']:.2f}×); least: {name(worst)}, "
          f"{100 * worst['mass']:.0f}% vs {100 * worst['share']:.0f}% ({worst['ratio']:.2f}×).")
    return s


# ----------------------------------------------------------------------------------------------
# Plot
# ----------------------------------------------------------------------------------------------


def plot_clip_attribution(frames: np.ndarray, heat, *, window: Optional[tuple[float, float]] = None,
                          curves: Optional[Mapping[str, Sequence[float]]] = None, every: int = 1,
                          title: Optional[str] = None, fig=None, alpha: float = 0.55, cmap: str = "inferno"):
    """Frames ``(T, H, W, 3)`` uint8 with a heatmap ``(T, H, W)`` overlaid (one colour scale for the
    clip), and below them the per-frame curves (``{label: (T,)}``) with the action window shaded.
    Returns the figure."""
    import matplotlib.pyplot as plt

    heat = np.asarray(heat.detach().cpu() if isinstance(heat, torch.Tensor) else heat, dtype=np.float64)
    frames = np.asarray(frames)
    if frames.ndim != 4 or heat.shape != frames.shape[:3]:
        raise ValueError(f"frames {frames.shape} must be (T, H, W, 3) and heat {heat.shape} (T, H, W)")
    ts = list(range(0, frames.shape[0], every))
    fig = fig or plt.figure(figsize=(1.05 * len(ts) + 0.6, 3.3))
    gs = fig.add_gridspec(2, len(ts), height_ratios=[1, 1.15], hspace=0.08, wspace=0.04)
    vmax = heat.max() if heat.max() > 0 else 1.0
    for k, t in enumerate(ts):
        ax = fig.add_subplot(gs[0, k])
        ax.imshow(frames[t])
        ax.imshow(heat[t], cmap=cmap, alpha=alpha, vmin=0, vmax=vmax)
        inside = window is not None and window[0] - 0.5 < t < window[1] + 0.5
        ax.set_title(f"{t}", fontsize=7, color="C2" if inside else "0.3", fontweight="bold" if inside else None)
        ax.set_xticks([])
        ax.set_yticks([])
        if inside:
            for sp in ax.spines.values():
                sp.set_color("C2")
                sp.set_linewidth(2)
    ax = fig.add_subplot(gs[1, :])
    if window is not None:
        ax.axvspan(window[0], window[1], color="C2", alpha=0.15, label="action window")
    for label, c in (curves or {"attribution": heat.sum(axis=(1, 2)) / max(heat.sum(), 1e-12)}).items():
        c = np.asarray(c.detach().cpu() if isinstance(c, torch.Tensor) else c, dtype=np.float64)
        ax.plot(np.arange(len(c)), c, marker="o", ms=3, label=label)
    ax.set_xlim(-0.5, frames.shape[0] - 0.5)
    ax.set_xlabel("frame")
    ax.set_ylabel("share of attribution")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper right")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
