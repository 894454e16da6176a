"""The receptive-field chapter's readings of its measurements: a conv stack in depth, stage outputs
of networks before and after training, MixTConv's learned taps, and the explorer's probe.

Built on :mod:`.receptive` (``effective_rf``, ``rf_stats``, ``rf_change`` ...) and :mod:`.probes`.

* :func:`stack_rows`, :func:`stack_growth` — theory vs support vs effective extent of a 3×3×3 stack
  per depth, and the power law of the effective spread in depth (Luo et al., NIPS 2016: √L).
* :func:`initial_model` — the weights a run started from (``fit`` seeds everything, then builds).
* :func:`stage_fields` — per stage output (and MTNet stream) of one run: :func:`~.receptive.rf_stats`
  before and after training and their differences, and the maps of the chosen stage.
* :func:`stage_table`, :func:`spread_by_stage`, :func:`stage_changes`, :func:`spread_moves` — the
  means over seeds, the spread per stage, the paired changes with training (:func:`~.receptive.rf_change`)
  and which networks' spread grew or shrank.
* :func:`mixtconv_taps`, :func:`taps_by_module`, :func:`taps_sentence` — per MixTConv kernel group,
  the share of its field more than one frame from the output's frame (0 only with ``init="tsm"``; the official init's 5- and 7-groups start at ±2, ±3 frames).
* :func:`field_members`, :func:`field_weights`, :func:`field_view` — the explorer's choices and
  the map, labels and profile of one selection.

Rows are plain dicts: ``model, seed, stage, layer, stream`` ("-" or MTNet's "short" / "long"),
``before_<stat>``, ``after_<stat>``, ``d_<stat>`` for the statistics of :func:`~.receptive.rf_stats`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..models import build_model
from ..models.tsn import temporal_modules
from ..utils.seeding import seed_everything
from .probes import layer_probe, mechanism_probes, mixtconv_probes, stage_layers
from .receptive import mass_outside, rf_change, rf_extent, rf_label, rf_stats, temporal_profile

__all__ = ["stack_rows", "stack_growth", "initial_model", "stage_fields", "stage_table", "spread_by_stage",
           "stage_changes", "spread_moves", "mixtconv_taps", "taps_by_module", "taps_sentence", "field_members",
           "field_weights", "field_view"]


def _tag(threshold: float) -> str:
    return f"{int(round(100 * threshold))}"  # rf_stats' key suffix: frames_50 ...


def stack_rows(probes: Mapping[int, Mapping[str, Any]], maps: Mapping[int, Mapping[str, Any]], *,
               threshold: float) -> list[dict[str, Any]]:
    """Per depth (the keys, in order): the theoretical extent in frames, the support of the positive
    stack and, for the random one, the frames at ``threshold`` of the peak, the spread and the best
    3-frame mass. ``probes[d]`` / ``maps[d]``: ``{"positive": ..., "random": ...}``."""
    rows = []
    for d in probes:
        s = rf_stats(maps[d]["random"], thresh=threshold)
        rows.append(dict(depth=d, theory=probes[d]["positive"].theory[0], support=rf_extent(maps[d]["positive"]).frames,
                         random_extent=s[f"frames_{_tag(threshold)}"], random_spread=s["spread_frames"],
                         random_mass_3=s["mass_3"]))
    return rows


def stack_growth(rows: Sequence[Mapping[str, Any]], *, threshold: float) -> dict[str, Any]:
    """The exponent of a power law fitted to the random stack's spread over depth (log-log), and a
    sentence comparing it with √depth and linear growth and the deepest stack's effective extent."""
    depth = np.array([r["depth"] for r in rows], dtype=float)
    spread = np.array([r["random_spread"] for r in rows])
    slope = float(np.polyfit(np.log(depth), np.log(spread), 1)[0])
    closer = ("closer to Luo et al.'s √depth (exponent 0.5) than to linear growth (exponent 1)"
              if abs(slope - 0.5) < abs(slope - 1.0) else
              "closer to linear growth (exponent 1) than to Luo et al.'s √depth (exponent 0.5)")
    last, tag = rows[-1], _tag(threshold)
    sentence = (f"A power law fitted to the random-weight spread over depths 1–{last['depth']} gives spread ∝ "
                f"depth^{slope:.2f}, {closer}, while the theoretical extent grows as 2·depth + 1: at depth "
                f"{last['depth']} the frames carrying at least {tag}% of the peak frame's mass are "
                f"{last['random_extent']} of the {last['theory']} it could see, and the best 3 frames hold "
                f"{100 * last['random_mass_3']:.0f}% of the gradient.")
    return dict(slope=slope, sentence=sentence)


def initial_model(model: str, model_kwargs: Mapping[str, Any], *, seed: int, num_classes: int,
                  device: Any = "cpu") -> nn.Module:
    """The weights run ``seed`` of ``model`` started from: ``fit`` seeds everything, then builds."""
    seed_everything(seed)
    return build_model(model, num_classes=num_classes, **model_kwargs).to(device)


def stage_fields(run: Mapping[str, Any], nets: Mapping[str, nn.Module], x: torch.Tensor, *, threshold: float,
                 stage: int) -> tuple[list[dict[str, Any]], dict[tuple, np.ndarray]]:
    """The effective field of every stage output of one run (``run``: a grid row with ``name, model,
    seed, top1, run_dir``), for each of ``nets`` (``{"before": net, "after": net}``), summed over the
    clips ``x`` (N, C, T, H, W); MTNets per stream. Returns the rows (module doc) and the maps of
    stage ``stage``, ``{(model, stream, seed, when): (T, H, W)}``."""
    streams = ["short", "long"] if run["model"].startswith("mtnet") else [None]
    rows, maps = [], {}
    for k, layer in enumerate(stage_layers(nets["before"]), start=1):
        for stream in streams:
            row = dict(name=run["name"], model=run["model"], seed=run["seed"], stage=k, layer=layer,
                       stream=stream or "-", top1=run["top1"], run_dir=run["run_dir"])
            for when, net in nets.items():
                rf = layer_probe(net, layer, tuple(x.shape[1:]), stream=stream).measure(x=x)
                for key, v in rf_stats(rf, thresh=threshold).items():
                    row[f"{when}_{key}"] = v
                if k == stage:
                    maps[(run["model"], stream or "-", run["seed"], when)] = rf
            for key in ("spread_frames", f"frames_{_tag(threshold)}", "support_frames", "mass_3"):
                row[f"d_{key}"] = row[f"after_{key}"] - row[f"before_{key}"]
            rows.append(row)
    return rows, maps


def _mean(sub: Sequence[Mapping[str, Any]], key: str) -> float:
    return sum(r[key] for r in sub) / len(sub)


def stage_table(rows: Sequence[Mapping[str, Any]], *, threshold: float) -> tuple[list[str], list[list[Any]]]:
    """``(header, rows)`` for a markdown table: per (network, layer, stream), the means over seeds of
    support / frames at ``threshold`` / spread / 3-frame mass, "before → after"."""
    tag = _tag(threshold)
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault((r["model"], r["layer"], r["stream"]), []).append(r)
    out = []
    for (m, layer, stream), sub in groups.items():
        cells = [fmt.format(_mean(sub, f"before_{key}")) + " → " + fmt.format(_mean(sub, f"after_{key}"))
                 for key, fmt in (("support_frames", "{:.0f}"), (f"frames_{tag}", "{:.1f}"), ("spread_frames", "{:.2f}"),
                                  ("mass_3", "{:.2f}"))]
        out.append([m, layer, stream, *cells])
    return (["network", "layer", "stream", "support (frames)", f"frames ≥ {tag}%", "spread (frames)", "mass in 3 frames"],
            out)


def _streams(model: str) -> list[str]:
    return ["short", "long"] if model.startswith("mtnet") else ["-"]


def spread_by_stage(rows: Sequence[Mapping[str, Any]], models: Sequence[str]) -> dict[str, dict[str, dict[str, list]]]:
    """``{model: {stream: {"stages", "before", "after"}}}``: the mean spread (frames) per stage."""
    out: dict[str, dict[str, dict[str, list]]] = {}
    for m in models:
        for stream in _streams(m):
            sub = [r for r in rows if r["model"] == m and r["stream"] == stream]
            ks = sorted({r["stage"] for r in sub})
            out.setdefault(m, {})[stream] = {"stages": ks, **{w: [_mean([r for r in sub if r["stage"] == k],
                                                                        f"{w}_spread_frames") for k in ks]
                                                              for w in ("before", "after")}}
    return out


def _at_stage(rows: Sequence[Mapping[str, Any]], model: str, stream: str, stage: int) -> list[Mapping[str, Any]]:
    return [r for r in rows if r["model"] == model and r["stream"] == stream and r["stage"] == stage]


def stage_changes(rows: Sequence[Mapping[str, Any]], keys: Sequence[tuple[str, str]], *, stage: int, threshold: float,
                  mean_ci: Callable) -> dict[str, dict[str, str]]:
    """Per (model, stream) of ``keys``, the sentences of :func:`~.receptive.rf_change` (paired over
    seeds; ``mean_ci``: :func:`actionrec.experiments.stats.mean_ci`) for the spread, the support and
    the frames at ``threshold`` of stage ``stage``: ``{label: {metric: sentence}}``."""
    metrics = ("spread_frames", "support_frames", f"frames_{_tag(threshold)}")
    out = {}
    for m, s in keys:
        sub = _at_stage(rows, m, s, stage)
        label = f"{m}{'' if s == '-' else ' (' + s + ' stream)'}, {sub[0]['layer']}"
        before = [{k: r[f"before_{k}"] for k in metrics} for r in sub]
        after = [{k: r[f"after_{k}"] for k in metrics} for r in sub]
        out[label] = {k: rf_change(before, after, mean_ci=mean_ci, metric=k, label=label if k == metrics[0] else "")
                      ["sentence"] for k in metrics}
    return out


def spread_moves(rows: Sequence[Mapping[str, Any]], keys: Sequence[tuple[str, str]], *, stage: int) -> dict[str, list]:
    """``{"wider" | "narrower" | "unchanged": [network (stream)]}``: the sign of the mean change of the
    spread at stage ``stage`` over seeds."""
    moved: dict[str, list] = {"wider": [], "narrower": [], "unchanged": []}
    for m, s in keys:
        diff = _mean(_at_stage(rows, m, s, stage), "d_spread_frames")
        moved["wider" if diff > 0 else "narrower" if diff < 0 else "unchanged"].append(m + ("" if s == "-" else f" {s}"))
    return moved


def mixtconv_taps(nets: Mapping[tuple[str, int], Mapping[str, nn.Module]], *, model: str = "mstnet_small"
                  ) -> list[dict[str, Any]]:
    """For every MixTConv of the ``model`` networks (``nets[(model, seed)] = {when: net}``), each
    kernel group's own field (the absolute taps summed over its channels): its reach (frames),
    support and ``beyond_1``, the share more than one frame from the output's frame."""
    rows = []
    for (m, seed), by_when in nets.items():
        if m != model:
            continue
        for when, net in by_when.items():
            for mod_name, mod in temporal_modules(net):
                for gname, probe in mixtconv_probes(module=mod, size=1).items():
                    rf = probe.measure(batch=1)
                    reach = (probe.info["kernel"] - 1) // 2 * probe.info["dilation"]  # farthest tap, frames
                    rows.append(dict(model=m, seed=seed, when=when, module=mod_name, group=gname, reach=reach,
                                     beyond_1=mass_outside(rf, radius=1), support=rf_extent(rf).frames))
    return rows


def taps_by_module(rows: Sequence[Mapping[str, Any]], *, when: str = "after") -> dict[str, Any]:
    """``{"modules": [...], "groups": {group: [mean beyond_1 per module]}}`` at ``when``."""
    mods = sorted({r["module"] for r in rows})
    groups = list(dict.fromkeys(r["group"] for r in rows))
    return dict(modules=mods, groups={g: [np.mean([r["beyond_1"] for r in rows if r["module"] == mod and r["group"] == g
                                                   and r["when"] == when]) for mod in mods] for g in groups})


def taps_sentence(rows: Sequence[Mapping[str, Any]]) -> str:
    """Did training put weight on frames a TSM shift cannot reach? Before vs after, per group."""
    groups = list(dict.fromkeys(r["group"] for r in rows))
    share = {(g, w): np.mean([r["beyond_1"] for r in rows if r["group"] == g and r["when"] == w])
             for g in groups for w in ("before", "after")}
    long_groups = [g for g in groups if max(r["reach"] for r in rows if r["group"] == g) > 1]
    grew = [g for g in long_groups if share[g, "after"] > share[g, "before"]]
    return ("Share of each group's field beyond ±1 frame, averaged over blocks, before → after training: "
            + ", ".join(f"{g}: {100 * share[g, 'before']:.1f}% → {100 * share[g, 'after']:.1f}%" for g in groups)
            + ". Groups whose taps reach beyond ±1 frame (" + ", ".join(long_groups) + "): "
            + ("training moved more weight there in all of them, so it did use the longer kernels."
               if grew == long_groups else
               f"training moved more weight there in {len(grew)} of {len(long_groups)} ({', '.join(grew) or 'none'}).")
            + " (Groups reaching only ±1 cannot, by construction.)")


def field_members(what: str, *, trained: Mapping[str, str], frames: int, size: int) -> list[str]:
    """The explorer's members of ``what``: a mechanism family's groups / streams, or a trained
    network's streams (``trained``: ``{choice: model}``)."""
    if what in trained:
        return ["short", "long"] if trained[what].startswith("mtnet") else ["all channels"]
    return list(mechanism_probes(what, depth=2, frames=frames, size=size))


def field_weights(what: str, *, trained: Mapping[str, str]) -> list[str]:
    """The explorer's weight choices of ``what``."""
    return ["before training", "after training"] if what in trained else ["positive (support)", "random (effective)"]


def field_view(what: str, member: str, depth: int, weights: str, *, trained: Mapping[str, str],
               nets: Mapping[str, Mapping[str, nn.Module]], x: torch.Tensor, frames: int, size: int,
               rand_batch: int) -> dict[str, Any]:
    """Measure one explorer selection: a mechanism probe (:func:`~.probes.mechanism_probes` at
    ``depth``, positive or random weights) or the stage ``depth`` output of a trained network
    (``nets[model] = {"before", "after"}``, measured on the clips ``x``). Returns the arguments of
    :func:`actionrec.viz.receptive.plot_field_view`: ``rf``, ``label`` (support, and theory for
    positive weights), ``title``, ``crop``, ``profile`` ``{member: temporal profile}``."""
    if what in trained:
        m = trained[what]
        net = nets[m]["before" if weights.startswith("before") else "after"]
        layers = stage_layers(net)
        layer = layers[min(depth, len(layers)) - 1]
        probe = layer_probe(net, layer, tuple(x.shape[1:]), stream=member if member in ("short", "long") else None)
        rf, title = probe.measure(x=x), f"{m} {layer} {member}, {weights}"
    else:
        probes = mechanism_probes(what, depth=depth, positive=weights.startswith("positive"), frames=frames, size=size)
        probe = probes.get(member, next(iter(probes.values())))
        rf = probe.measure(batch=1 if weights.startswith("positive") else rand_batch)
        title = f"{probe.name}, {weights}"
    return dict(rf=rf, label=rf_label(rf, probe.theory if weights.startswith("positive") else None), title=title,
                crop=None if what in trained or what in ("conv stack", "MTConv") else 15,
                profile={member: temporal_profile(rf)})
