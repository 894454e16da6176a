"""Network builders. ``MODELS`` maps a name to a keyword-only builder; names follow
``{family}_{depth}`` (``mtnet_32``, ``r3d_18``, ``msti_net_50``, ``tsn_r50``) or
``{family}_small`` for the CPU-sized variants.

Builders are the config boundary: they take the strings a ``TrainConfig`` holds and resolve them
once (:mod:`actionrec.models.factory`); the Modules receive classes and callables. ``ALIASES`` maps
the names earlier runs were configured with (``"mtnet32"``, ``"msti_net50"``) to today's, so
finished runs, configs and notebooks still build.

>>> from actionrec.models import build_model
>>> net = build_model("mtnet_32", num_classes=16, r=0.875, width=0.25)
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from .baselines import c3d_small, frame_avg2d
from .msti_net import msti_net_50, msti_net_small
from .mtnet import mtnet_32, mtnet_48, mtnet_64, mtnet_132, mtnet_200
from .resnet3d import r2plus1d_18, r2plus1d_34, r2plus1d_50, r2plus1d_101, r3d_18, r3d_34, r3d_50, r3d_101
from .tsn import mstnet_r50, mstnet_small, tsm_r50, tsm_small, tsn_r50, tsn_small
from .two_stream import two_stream_r50, two_stream_r152, two_stream_small

__all__ = ["MODELS", "ALIASES", "build_model", "canonical_name"]

#: Every network by name: a keyword-only builder.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "mtnet_32": mtnet_32,
    "mtnet_48": mtnet_48,
    "mtnet_64": mtnet_64,
    "mtnet_132": mtnet_132,
    "mtnet_200": mtnet_200,
    "c3d_small": c3d_small,
    "frame_avg2d": frame_avg2d,
    "r3d_18": r3d_18,
    "r3d_34": r3d_34,
    "r3d_50": r3d_50,
    "r3d_101": r3d_101,
    "r2plus1d_18": r2plus1d_18,
    "r2plus1d_34": r2plus1d_34,
    "r2plus1d_50": r2plus1d_50,
    "r2plus1d_101": r2plus1d_101,
    "msti_net_50": msti_net_50,
    "msti_net_small": msti_net_small,
    "tsn_r50": tsn_r50,
    "tsm_r50": tsm_r50,
    "mstnet_r50": mstnet_r50,
    "tsn_small": tsn_small,
    "tsm_small": tsm_small,
    "mstnet_small": mstnet_small,
    "two_stream_r50": two_stream_r50,
    "two_stream_r152": two_stream_r152,
    "two_stream_small": two_stream_small,
}

#: Names earlier runs were configured with -> the name in :data:`MODELS`.
ALIASES: dict[str, str] = {
    "mtnet32": "mtnet_32",
    "mtnet48": "mtnet_48",
    "mtnet64": "mtnet_64",
    "mtnet132": "mtnet_132",
    "mtnet200": "mtnet_200",
    "msti_net50": "msti_net_50",
}


def canonical_name(name: str) -> str:
    """The ``MODELS`` name for ``name`` (itself, or what an old name in ``ALIASES`` stands for).

    Raises ``ValueError`` listing the valid names when ``name`` is neither.
    """
    name = ALIASES.get(name, name) if isinstance(name, str) else name
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))} "
                         f"(old names: {', '.join(sorted(ALIASES))})")
    return name


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the network ``name`` (a ``MODELS`` or ``ALIASES`` name) with keyword arguments ``kwargs``.

    Raises ``ValueError`` listing the valid names when ``name`` is unknown.
    """
    return MODELS[canonical_name(name)](**kwargs)
