"""Datasets. ``build_dataset(name, split, **kwargs)`` is the one entry point the training loop and
the notebooks use; ``DATASETS`` lists the names.

"synthactions" is the embedded dataset (:mod:`actionrec.data.synthactions`); "ucf101", "hmdb51",
"kinetics", "ssv2" and "folder" read real videos (:mod:`actionrec.data.videos`) and need
``data_root=`` (in a TrainConfig: ``dataset_kwargs={"data_root": ...}``). :mod:`.flow` estimates,
stores and caches optical flow; :mod:`.perturb` reverses, shuffles and re-times clips."""

from __future__ import annotations

from typing import Callable

from torch.utils.data import Dataset

from ..utils.checks import check_choice
from .synthactions import SynthActions
from .videos import build_video_dataset

__all__ = ["DATASETS", "SPLITS", "build_dataset"]


def _synthactions(split: str, **kwargs) -> Dataset:
    return SynthActions(split=split, **kwargs)


def _video_builder(name: str) -> Callable[..., Dataset]:
    def build(split: str, **kwargs) -> Dataset:
        if kwargs.get("data_root") is None:
            raise ValueError(
                f"dataset {name!r} reads videos from disk: pass data_root= (in a TrainConfig, "
                f"dataset_kwargs['data_root'] = the folder holding the {name} videos)"
            )
        return build_video_dataset(name, split, **kwargs)

    build.__name__ = f"_{name}"
    build.__doc__ = f"{name} from ``data_root`` (actionrec.data.videos.build_video_dataset)."
    return build


#: Every dataset by name: ``builder(split, **kwargs)``.
DATASETS: dict[str, Callable[..., Dataset]] = {
    "synthactions": _synthactions,
    **{name: _video_builder(name) for name in ("ucf101", "hmdb51", "kinetics", "ssv2", "folder")},
}

SPLITS = ("train", "val", "test")


def build_dataset(name: str, split: str, **kwargs) -> Dataset:
    """Build split ``split`` of dataset ``name`` (``kwargs`` go to its constructor)."""
    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}"
        )
    check_choice("split", split, SPLITS)
    return DATASETS[name](split, **kwargs)
