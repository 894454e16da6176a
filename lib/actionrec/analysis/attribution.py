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

Summaries: :func:`frame_importance`, :func:`action_window_mass`, :func:`channel_share` (RGB vs
flow channels), :func:`window_profile`, :func:`summarize_window_mass` (mean over clips per model
and method, with the CI of the ``mean_ci`` the caller passes) and :func:`window_sentence` (the
computed verdict). The heatmap figure is :func:`actionrec.viz.clips.plot_clip_attribution`.

Over several networks and methods (the attribution chapter): :func:`attribute_all` (every method
on every network, in chunks), :func:`frame_importances` (with the RGB / flow channels apart),
:func:`window_records`, :func:`window_profiles`, :func:`modality_split` and the table / sentence /
view helpers :func:`window_mass_table`, :func:`modality_table`, :func:`modality_sentence`,
:func:`attribution_view`.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..utils.checks import check_int

__all__ = ["METHODS", "input_attributions", "gradcam_layers", "gradcam", "frame_importance", "action_window_mass",
           "channel_share", "window_profile", "PROFILE_EDGES", "summarize_window_mass", "window_sentence",
           "attribute_all", "frame_importances", "window_records", "window_profiles", "modality_split",
           "window_mass_table", "modality_table", "modality_sentence", "attribution_view", "RGB_FLOW"]

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
    check_int("n_steps", n_steps, min_value=2)
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
    check_int("stage", stage, min_value=1, max_value=4)
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


def action_window_mass(importance: torch.Tensor, mask) -> torch.Tensor:
    """Fraction of each clip's frame importance ``(B, T)`` inside its action mask ``(B, T)`` bool: ``(B,)``.

    The window is given (the frames where the action happens); for the best-placed window of a
    receptive-field map see :func:`actionrec.analysis.receptive.best_window_mass`."""
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


def summarize_window_mass(records: Sequence[Mapping[str, Any]], *,
                          mean_ci: Callable[[Sequence[float], float], tuple[float, float, float]]) -> list[dict[str, Any]]:
    """Mean over clips per ``(model, method)`` of per-clip records with ``model, method, mass, share``
    (mass inside the window, the window's share of the clip). Each entry: ``model, method, n,
    mass, share, mass_ci`` (95% t half-width from ``mean_ci(values, 0.95) -> (mean, std, half-width)``:
    pass :func:`actionrec.experiments.stats.mean_ci`), ``ratio = mass / share`` (1: no preference
    for the action's frames) and ``frac_clips_above`` (clips whose mass exceeds their share)."""
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["model"], r["method"]), []).append(r)
    out = []
    for (model, method), rs in groups.items():
        mass, _, ci = mean_ci([float(r["mass"]) for r in rs], 0.95)
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
# Several networks and methods at once
# ----------------------------------------------------------------------------------------------

#: The channel groups of a two-stream clip (B, 5, T, H, W): RGB, then per-frame flow (dx, dy).
RGB_FLOW = {"rgb": [0, 1, 2], "flow": [3, 4]}


def attribute_all(nets: Mapping[str, nn.Module], inputs: Mapping[str, torch.Tensor], target: torch.Tensor,
                  methods: Sequence[str], *, gradcam_stage: int = 4, ig_steps: int = 32, chunk: int = 4,
                  device="cpu") -> dict[str, Any]:
    """Every method of ``methods`` (:data:`METHODS`) on every network, ``chunk`` clips per captum call
    (Integrated Gradients then runs ``chunk * ig_steps`` samples at a time).

    ``inputs[m]``: network ``m``'s clips (N, C, T, H, W); ``target`` (N,) the classes explained.
    Returns ``{"attr": {(m, method): (N, C, T, H, W) or Grad-CAM (N, T, H, W)}`` (one Grad-CAM key
    per layer of :func:`gradcam_layers`: ``"gradcam"`` or ``"gradcam (<part>)"``), ``"logits": {m:
    (N, K)}``, ``"pred": {m: (N,)}``, ``"delta": {m: IG convergence deltas (N,)}``, ``"seconds": {m:
    s}}``, all on the CPU."""
    attr, logits, delta, seconds = {}, {}, {}, {}
    for m, net in nets.items():
        t0 = time.time()
        x = inputs[m]
        steps = range(0, len(x), chunk)
        with torch.no_grad():
            logits[m] = torch.cat([net(x[i:i + chunk].to(device)).cpu() for i in steps])
        for method in methods:
            if method == "gradcam":
                layers = gradcam_layers(net, gradcam_stage)
                for part, layer in layers.items():
                    key = "gradcam" if len(layers) == 1 else f"gradcam ({part})"
                    attr[m, key] = torch.cat([gradcam(net, x[i:i + chunk].to(device), target[i:i + chunk],
                                                      layer=layer).cpu() for i in steps])  # (N, T, H, W)
                continue
            parts = [input_attributions(net, x[i:i + chunk].to(device), target[i:i + chunk], method=method,
                                        n_steps=ig_steps, internal_batch_size=chunk * ig_steps) for i in steps]
            attr[m, method] = torch.cat([a.cpu() for a, _ in parts])  # (N, C, T, H, W)
            if method == "integrated_gradients":
                delta[m] = torch.cat([d.cpu() for _, d in parts])
        seconds[m] = time.time() - t0
    return dict(attr=attr, logits=logits, pred={m: v.argmax(1) for m, v in logits.items()}, delta=delta,
                seconds=seconds)


def frame_importances(attr: Mapping[tuple[str, str], torch.Tensor], *, split: Sequence[str] = (),
                      groups: Mapping[str, Sequence[int]] = RGB_FLOW) -> dict[tuple[str, str], torch.Tensor]:
    """:func:`frame_importance` of every ``(model, method)`` map; for the input attributions of the
    models in ``split`` also per channel group, keyed ``(model, "<method> (<group>)")``."""
    out = {}
    for (m, method), a in attr.items():
        out[m, method] = frame_importance(a)  # (N, T)
        if m in split and a.dim() == 5:
            for g, chans in groups.items():
                out[m, f"{method} ({g})"] = frame_importance(a, channels=chans)
    return out


def window_records(importance: Mapping[tuple[str, str], torch.Tensor], mask, *, labels: torch.Tensor,
                   pred: Mapping[str, torch.Tensor], clips: Sequence[int]) -> list[dict[str, Any]]:
    """One record per (model, method, clip): ``model, method, clip, label, correct, mass`` (the share of
    the clip's frame importance inside its action ``mask`` (N, T)) and ``share`` (the window's share
    of the frames): the input of :func:`summarize_window_mass`."""
    share = np.asarray(mask).mean(1)
    records = []
    for (m, method), imp in importance.items():
        mass = action_window_mass(imp, mask)
        for i, c in enumerate(clips):
            records.append(dict(model=m, method=method, clip=c, label=int(labels[i]), correct=bool(pred[m][i] == labels[i]),
                                mass=float(mass[i]), share=float(share[i])))
    return records


def window_profiles(importance: Mapping[tuple[str, str], torch.Tensor], windows,
                    edges: Sequence[float] = PROFILE_EDGES) -> dict[tuple[str, str], np.ndarray]:
    """:func:`window_profile` of every ``(model, method)`` frame importance."""
    return {k: window_profile(imp, windows, edges) for k, imp in importance.items()}


def modality_split(attr: Mapping[tuple[str, str], torch.Tensor], importance: Mapping[tuple[str, str], torch.Tensor],
                   mask, *, model: str) -> tuple[list[dict[str, Any]], float]:
    """Appearance (RGB) or motion (flow) in ``model``'s two-stream input attributions.

    Per input method: ``flow_abs_share`` (mean share of |attr| in the flow channels),
    ``flow_signed_share`` (Integrated Gradients only: median over clips of the flow channels' share
    of the signed sum, by completeness their part of F(x) − F(0); else NaN) and the RGB and flow
    attribution mass inside the action window. Also the motion stream's mean share of the summed
    Grad-CAM evidence of the two streams (NaN without both Grad-CAM maps)."""
    rows = []
    for method in [k[1] for k in attr if k[0] == model and attr[k].dim() == 5]:
        a = attr[model, method]
        sh = channel_share(a, RGB_FLOW)
        signed = a.double().sum(dim=(2, 3, 4))  # (N, 5)
        flow_signed = signed[:, 3:].sum(1) / signed.sum(1)
        rows.append(dict(method=method, flow_abs_share=float(sh["flow"].mean()),
                         flow_signed_share=(float(flow_signed.median()) if method == "integrated_gradients"
                                            else float("nan")),
                         rgb_in_window=float(action_window_mass(importance[model, f"{method} (rgb)"], mask).mean()),
                         flow_in_window=float(action_window_mass(importance[model, f"{method} (flow)"], mask).mean())))
    cams = {k[1]: attr[k] for k in attr if k[0] == model and k[1].startswith("gradcam")}
    if len(cams) != 2:
        return rows, float("nan")
    tot = {k: v.sum(dim=(1, 2, 3)) for k, v in cams.items()}
    return rows, float((tot["gradcam (motion)"] / (tot["gradcam (motion)"] + tot["gradcam (appearance)"])
                        .clamp_min(1e-12)).mean())


def window_mass_table(summary: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of :func:`summarize_window_mass` for a markdown table (percentages)."""
    ci = lambda e: "" if e["mass_ci"] != e["mass_ci"] else f" ± {100 * e['mass_ci']:.1f}"  # noqa: E731
    return (["network", "method", "mass in window (%)", "window share (%)", "ratio", "clips above share"],
            [[e["model"], e["method"], f"{100 * e['mass']:.1f}{ci(e)}", f"{100 * e['share']:.1f}", f"{e['ratio']:.2f}",
              f"{100 * e['frac_clips_above']:.0f}%"] for e in summary])


def modality_table(rows: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of :func:`modality_split`'s rows for a markdown table (percentages)."""
    signed = lambda r: "–" if r["flow_signed_share"] != r["flow_signed_share"] else f"{100 * r['flow_signed_share']:.0f}%"  # noqa: E731
    return (["method", "flow share of \\|attr\\|", "flow share of the signed IG (median)", "RGB mass in window",
             "flow mass in window"],
            [[r["method"], f"{100 * r['flow_abs_share']:.0f}%", signed(r), f"{100 * r['rgb_in_window']:.0f}%",
              f"{100 * r['flow_in_window']:.0f}%"] for r in rows])


def modality_sentence(ig: Mapping[str, Any], window_share: float) -> str:
    """The computed reading of :func:`modality_split`'s Integrated Gradients row."""
    return (f"the flow channels carry {100 * ig['flow_abs_share']:.0f}% of the absolute IG attribution and account for "
            f"{100 * ig['flow_signed_share']:.0f}% of the logit (median over clips). {100 * ig['flow_in_window']:.0f}% "
            f"of the flow attribution lies inside the action window against {100 * ig['rgb_in_window']:.0f}% of the "
            f"RGB attribution (window share {100 * window_share:.0f}%). Note that with the zero baseline a flow element "
            "that is zero gets no IG attribution at all, and in 'easy' clips (no camera pan) the flow is zero wherever "
            "nothing moves — outside the window in particular; the flow channels' concentration on the window is "
            "partly this property of IG.")


def attribution_view(view: Mapping[str, Any], clip: int, model: str, method: str | None = None) -> dict[str, Any]:
    """The arguments of :func:`actionrec.viz.clips.plot_clip_attribution` for one clip, network and
    method (the network's first method when ``method`` is not one of its own): the frames, the map
    (|attr| summed over channels), the action window, the frame importance (and per channel group)
    and a title with the classes and the mass inside the window.

    ``view``: ``attr``, ``importance`` (as :func:`attribute_all` / :func:`frame_importances` give
    them), ``pred`` {model: (N,)}, ``labels`` (N,), ``frames`` (N, T, H, W, 3), ``windows`` (N, 2),
    ``mask`` (N, T) and ``classes``."""
    attr, imp = view["attr"], view["importance"]
    keys = [k[1] for k in attr if k[0] == model]
    method = method if method in keys else keys[0]
    a = attr[model, method][clip]
    curves = {method: imp[model, method][clip]}
    for g in RGB_FLOW:
        if (model, f"{method} ({g})") in imp:
            curves[f"{g} channels"] = imp[model, f"{method} ({g})"][clip]
    mask = np.asarray(view["mask"])
    mass = float(action_window_mass(imp[model, method][clip:clip + 1], mask[clip:clip + 1]))
    classes, y = view["classes"], view["labels"]
    return dict(frames=view["frames"][clip], heat=a.abs().sum(0) if a.dim() == 4 else a,  # (T, H, W)
                window=tuple(view["windows"][clip]), curves=curves,
                title=f"{model} / {method}: clip {clip} ({classes[int(y[clip])]}, predicted "
                      f"{classes[int(view['pred'][model][clip])]}); {100 * mass:.0f}% of the mass in a window of "
                      f"{100 * mask[clip].mean():.0f}% of the frames")
