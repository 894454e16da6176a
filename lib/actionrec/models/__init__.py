"""Network builders. ``MODELS`` maps a name to a keyword-only builder.

>>> from actionrec.models import build_model
>>> net = build_model("mtnet32", num_classes=16, r=0.875, width=0.25)
"""

from __future__ import annotations

from typing import Callable

from torch import nn

from .baselines import c3d_small, frame_avg2d
from .msti_net import msti_net50, msti_net_small
from .mtnet import mtnet32, mtnet48, mtnet64, mtnet132, mtnet200
from .tsn import mstnet_r50, mstnet_small, tsm_r50, tsm_small, tsn_r50, tsn_small
from .two_stream import two_stream_r50, two_stream_r152, two_stream_small
from .resnet3d import r2plus1d_18, r2plus1d_34, r2plus1d_50, r2plus1d_101, r3d_18, r3d_34, r3d_50, r3d_101

MODELS: dict[str, Callable[..., nn.Module]] = {
    "mtnet32": mtnet32,
    "mtnet48": mtnet48,
    "mtnet64": mtnet64,
    "mtnet132": mtnet132,
    "mtnet200": mtnet200,
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
    "msti_net50": msti_net50,
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


def build_model(name: str, **kwargs) -> nn.Module:
    """Build the network ``name`` with keyword arguments ``kwargs``.

    Raises ``ValueError`` listing the valid names when ``name`` is unknown.
    """
    try:
        builder = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid names: {', '.join(sorted(MODELS))}") from None
    return builder(**kwargs)
