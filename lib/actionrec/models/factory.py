"""Strings → classes and callables, once, at the config boundary.

A run's ``TrainConfig`` (and its ``config.json``) names every design choice with a string:
``temporal="tsm"``, ``srtg="final"``, ``variant="ms_st"``, ``fusion="residual_mul"``... The builders
in :data:`actionrec.models.MODELS` take those strings and resolve them here; the Modules below them
receive only classes or callables (torchvision's ``conv_makers``, timm's ``norm_layer`` /
``act_layer``). Each resolver, like timm's ``get_act_layer``, returns a non-string argument
unchanged, so code may pass a class or a ``functools.partial`` where a config passes a name.

Every resolver validates its string and raises ``ValueError`` naming the parameter and the valid
values; unknown names never reach a Module.

    resolver                 string(s)                                  → callable
    get_temporal_layer       temporal: None | "tsm" | "mixtconv", init  → channels -> TemporalShift | MixTConv
    get_stem2d               stem: "imagenet" | "small"                 → (in, out) -> ImageNetStem2d | SmallStem2d
    get_sr_layer             recurrent: "gru" | "lstm" | None, fusion   → channels -> SqueezeRecursion
    get_mtnet_reading        sr, downsample, streams (MTNet's readings) → MTNet keywords (block class, flags)
    get_srtg_gates           srtg: a Fig. 2b placement, srtg_kwargs     → {placement: channels -> SRTGate}
    get_msti_unit            variant: msti | ms_st | ms_s | ms_t | p3d_b → (C_in, P, stride) -> MSTITube | P3DBBlock
                             (also ms_s_only | ms_t_only: single-branch tubes, not Table 2 rows)
    get_connection           fusion kind, direction, direct path        → (C_a, C_m) -> CrossStreamConnection
    get_temporal_filters     placement, init, kernel, padding           → channels -> TemporalFilter, sites
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Optional, Sequence, Union

import torch.nn as nn

from ..layers.fusion import DIRECT_PATHS, FUSION_KINDS, CrossStreamConnection, canonical_direction
from ..layers.mixtconv import INITS as MIXTCONV_INITS, MixTConv
from ..layers.msti import VARIANTS, MSTITube, P3DBBlock
from ..layers.squeeze_recursion import FUSIONS, MODES, SqueezeRecursion
from ..layers.srtg import PLACEMENTS, SRTGate
from ..layers.temporal_filter import TemporalFilter, canonical_placement, filter_taps, placement_sites
from ..layers.temporal_shift import TemporalShift
from ..utils.checks import check_choice, fail
from .blocks import ImageNetStem2d, SmallStem2d
from .mtblocks import DownsampleMTBlock, MultiplexerMTBlock

__all__ = [
    "TEMPORAL_OPS",
    "STEMS_2D",
    "MSTI_UNITS",
    "get_temporal_layer",
    "get_stem2d",
    "get_sr_layer",
    "MTNET_READINGS",
    "get_mtnet_reading",
    "get_srtg_gates",
    "check_srtg_kwargs",
    "get_msti_unit",
    "get_connection",
    "get_temporal_filters",
]

TEMPORAL_OPS = (None, "tsm", "mixtconv")
STEMS_2D = {"imagenet": ImageNetStem2d, "small": SmallStem2d}
MSTI_UNITS = VARIANTS + ("p3d_b",)  # MSTITube variants (Table 2 + the single-branch tubes) and P3D-B
MTNET_READINGS = {"sr": ("stage", "block"), "downsample": ("bottleneck", "multiplexer"), "streams": ("persist", "merge")}


def get_temporal_layer(temporal: Union[str, None, Callable], *, num_segments: int, kernels: Optional[Sequence[int]] = None,
                       dilations: Optional[Sequence[int]] = None, fold_div: Optional[int] = None,
                       init: Optional[str] = None) -> Optional[Callable[[int], nn.Module]]:
    """``channels -> module`` for TSN's temporal slot, built for ``num_segments`` frames.

    ``None``: no temporal op (TSN); ``"tsm"``: :class:`TemporalShift` (``fold_div``, default 8);
    ``"mixtconv"``: :class:`MixTConv` (``kernels`` default (1, 3, 5, 7), ``dilations``, ``init``
    one of :data:`~actionrec.layers.mixtconv.INITS`, default ``"official"``, and the ``fold_div`` of
    that init). An option the op does not use raises ValueError.
    """
    if temporal is not None and not isinstance(temporal, str):
        return temporal
    check_choice("temporal", temporal, TEMPORAL_OPS)
    unused = {"kernels": kernels, "dilations": dilations, "init": init} if temporal != "mixtconv" else {}
    if temporal is None:
        unused["fold_div"] = fold_div
    for name, value in unused.items():
        if value is not None:
            fail(name, value, f"None: {name} does not apply to temporal={temporal!r}")
    fold = {} if fold_div is None else {"fold_div": fold_div}
    if temporal == "tsm":
        return functools.partial(TemporalShift, num_segments=num_segments, **fold)
    if temporal == "mixtconv":
        if init is not None:
            check_choice("init", init, MIXTCONV_INITS)
        return functools.partial(MixTConv, num_segments=num_segments, kernels=(1, 3, 5, 7) if kernels is None else kernels,
                                 dilations=dilations, **fold, **({} if init is None else {"init": init}))
    return None


def get_stem2d(stem: Union[str, Callable[[int, int], nn.Module]]) -> Callable[[int, int], nn.Module]:
    """``(in_channels, out_channels) -> stem`` for ``"imagenet"`` (7x7 /2 + max-pool) or ``"small"`` (3x3 /2)."""
    if not isinstance(stem, str):
        return stem
    return STEMS_2D[check_choice("stem", stem, list(STEMS_2D))]


def get_sr_layer(recurrent: Union[str, None, Callable], fusion: str = "residual") -> Optional[Callable[[int], nn.Module]]:
    """``channels -> SqueezeRecursion`` with cell ``recurrent`` ("gru" | "lstm") and ``fusion``
    ("residual" | "mul", as ``sr_fusion``); ``None`` for no Squeeze-and-Recursion."""
    if recurrent is not None and not isinstance(recurrent, str):
        return recurrent
    check_choice("recurrent", recurrent, (*MODES, None))
    if recurrent is None:
        return None
    check_choice("sr_fusion", fusion, FUSIONS)
    return functools.partial(SqueezeRecursion, mode=recurrent, fusion=fusion)


def get_mtnet_reading(sr: str, downsample: Union[str, type], streams: str) -> dict[str, Any]:
    """MTNet's readings (:data:`MTNET_READINGS`, ``actionrec.models.mtnet``) as :class:`MTNet` keywords:
    ``sr`` "stage" | "block" → ``block_sr``; ``downsample`` "bottleneck" | "multiplexer" (or a block
    class) → ``downsample_block``; ``streams`` "persist" | "merge" → ``merge``."""
    check_choice("sr", sr, MTNET_READINGS["sr"])
    check_choice("streams", streams, MTNET_READINGS["streams"])
    if isinstance(downsample, str) or downsample is None:
        check_choice("downsample", downsample, MTNET_READINGS["downsample"])
        downsample = DownsampleMTBlock if downsample == "bottleneck" else MultiplexerMTBlock
    return {"block_sr": sr == "block", "downsample_block": downsample, "merge": streams == "merge"}


def check_srtg_kwargs(srtg_kwargs: Any) -> dict:
    """``srtg_kwargs`` as a dict of :class:`SRTGate` keyword arguments ({} for None), else ValueError."""
    if srtg_kwargs is None:
        return {}
    if not isinstance(srtg_kwargs, dict):
        raise ValueError(f"srtg_kwargs={srtg_kwargs!r} must be a dict of SRTGate keyword arguments or None")
    params = inspect.signature(SRTGate.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        valid = [n for n, p in params.items() if p.kind is p.KEYWORD_ONLY]
        bad = sorted(set(srtg_kwargs) - set(valid))
        if bad:
            raise ValueError(f"srtg_kwargs: unknown SRTGate argument(s) {bad}; valid: {', '.join(valid)}")
    return dict(srtg_kwargs)


def get_srtg_gates(srtg: Optional[str], srtg_kwargs: Optional[dict], *, block: type) -> dict[str, Callable[[int], nn.Module]]:
    """``{placement: channels -> SRTGate(**srtg_kwargs)}`` for a residual ``block`` class of
    :mod:`actionrec.models.resnet3d`, ``{}`` for ``srtg=None`` (the vanilla network).

    ``srtg`` is one of :data:`~actionrec.layers.srtg.PLACEMENTS` (case-insensitive) that ``block``
    offers (``block.placements``); ``srtg_kwargs`` are checked against SRTGate's signature.
    """
    if srtg is None:
        return {}
    if not isinstance(srtg, str) or srtg.lower() not in PLACEMENTS:
        raise ValueError(f"srtg={srtg!r} must be None or one of {', '.join(PLACEMENTS)} (case-insensitive)")
    p = srtg.lower()
    if p not in block.placements:
        raise ValueError(
            f"srtg={srtg!r}: placement {p!r} needs a Bottleneck block (Fig. 2b); {block.__name__}s "
            f"(depths 18/34) allow only {', '.join(block.placements)}; use depth 50/101 for {p!r}"
        )
    return {p: functools.partial(SRTGate, **check_srtg_kwargs(srtg_kwargs))}


def get_msti_unit(variant: Union[str, Callable], *, groups: int = 4) -> Callable[..., nn.Module]:
    """``(C_in, P, *, stride) -> unit`` for an MSTI-Net ``variant`` (case-insensitive): an
    :class:`MSTITube` variant (``layers.msti.BRANCHES``: Table 2's msti, ms_st, ms_s, ms_t, or the
    single-branch ms_s_only, ms_t_only) with ``groups`` = N, or ``"p3d_b"`` (:class:`P3DBBlock`)."""
    if not isinstance(variant, str):
        return variant
    if variant.lower() not in MSTI_UNITS:
        raise ValueError(f"variant={variant!r} is invalid: expected one of {', '.join(MSTI_UNITS)}")
    if variant.lower() == "p3d_b":
        return P3DBBlock
    return functools.partial(MSTITube, variant=variant.lower(), groups=groups)


def get_connection(fusion: Union[str, None, Callable], direction: str = "m2a", direct_path: str = "skip"
                   ) -> Optional[Callable[[int, int], nn.Module]]:
    """``(C_a, C_m) -> CrossStreamConnection`` of kind ``fusion`` and ``direction`` (arrows accepted);
    ``None`` for no connections (the two-stream baseline: late fusion only). ``direct_path`` ("skip" |
    "both": the paths a direct kind feeds) is validated for every kind and passed to the direct ones."""
    direction = canonical_direction(direction)
    check_choice("direct_path", direct_path, DIRECT_PATHS)
    if fusion is not None and not isinstance(fusion, str):
        return fusion
    check_choice("fusion", fusion, (None, *FUSION_KINDS))
    if fusion is None:
        return None
    extra = {"direct_path": direct_path} if fusion.startswith("direct") else {}
    return functools.partial(CrossStreamConnection, kind=fusion, direction=direction, **extra)


def get_temporal_filters(placement: Optional[str], init: Union[str, Sequence[float]] = "centre", kernel_size: int = 3,
                         padding_mode: str = "replicate") -> tuple[Optional[Callable[[int], nn.Module]], list[tuple[bool, bool]]]:
    """``(channels -> TemporalFilter, sites)`` for a filter ``placement`` (None | "last" | "every" |
    "every+shortcut" or the symbols § † ‡): ``sites[s] = (residual_filter, shortcut_filter)`` per
    stage (:func:`~actionrec.layers.temporal_filter.placement_sites`); ``init`` and ``kernel_size`` are
    validated even without filters."""
    placement = canonical_placement(placement)
    filter_taps(init, kernel_size)  # validates init and kernel
    sites = placement_sites(placement, 4)
    if placement is None:
        return None, sites
    return functools.partial(TemporalFilter, kernel_size=kernel_size, init=init, padding_mode=padding_mode), sites
