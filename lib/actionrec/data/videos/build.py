"""``build_video_dataset``: a dataset name, a split and a data root -> a :class:`.dataset.VideoDataset`.

Splits map onto each dataset's official subsets: "train" reads the train subset in train mode;
"val" the test list (UCF-101, HMDB-51) or the validation set (Kinetics, SSv2) in val mode (one
centre clip, centre crop); "test" the same videos in test mode (``DEFAULT_TEST_VIEWS`` = 10 clips
x 3 crops unless given). A plain folder reads its train / val / test sub-folder (or the root).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ...utils.checks import check_choice, check_int
from .annotations import ANNOTATION_KWARGS, ANNOTATIONS, annotate, folder_subset
from .dataset import VideoDataset

__all__ = ["build_video_dataset", "DEFAULT_TEST_VIEWS", "SPLIT_IDS"]

DEFAULT_TEST_VIEWS = (10, 3)  # clips x crops of build_video_dataset(split="test")
SPLIT_IDS = {"train": 0, "val": 1, "test": 2}  # seeds the num_samples subset of each split


def build_video_dataset(name: str, split: str, *, data_root: str | os.PathLike, fold: int = 1,
                        num_samples: int | None = None, seed: int = 0, **kwargs) -> VideoDataset:
    """Split ``split`` of dataset ``name`` (a key of ``ANNOTATIONS``) under ``data_root``.

    ``split``: ``"train"`` -> the train subset, train mode; ``"val"`` -> the test list (UCF-101,
    HMDB-51) or the validation set (Kinetics, SSv2), mode "val" (one centre clip, centre crop);
    ``"test"`` -> the same videos in mode "test" (``clips=10, crops=3`` unless given; ``clips`` and
    ``crops`` are ignored for the other splits, so one kwargs dict serves all three). ``fold``:
    the official split 1-3 (UCF-101, HMDB-51). ``num_samples``: a random subset of that many videos,
    fixed by ``seed`` (all videos if there are fewer). Annotation options (``annotation_dir``,
    ``csv``, ``labels_json``, ``split_json``) go to the parser; every other keyword to
    :class:`VideoDataset` (SSv2 defaults to ``flip=False``: its labels name directions), e.g.
    ``modality="rgb+flow", flow_method="farneback", flow_cache_dir=...`` for two-stream networks.
    """
    if name not in ANNOTATIONS:
        raise ValueError(f"unknown video dataset {name!r}; valid names: {', '.join(sorted(ANNOTATIONS))}")
    check_choice("split", split, SPLIT_IDS)
    if data_root is None:
        raise ValueError(f"data_root is required for dataset {name!r} (the folder holding its videos)")
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"data_root={str(root)!r} is not a folder; pass the folder that holds the {name} videos")
    ann_kwargs = {k: kwargs.pop(k) for k in ANNOTATION_KWARGS[name] if k in kwargs}
    stray = sorted({k for v in ANNOTATION_KWARGS.values() for k in v} & set(kwargs))
    if stray:
        raise ValueError(f"{stray} do(es) not apply to dataset {name!r}; its annotation options: {ANNOTATION_KWARGS[name]}")
    if name in ("ucf101", "hmdb51"):
        subset = "train" if split == "train" else "test"
    elif name == "folder":
        subset = folder_subset(root, split)
    else:
        subset = "train" if split == "train" else "val"
    ann = annotate(name, root, subset, fold=fold, **ann_kwargs)
    if split == "test":
        kwargs.setdefault("clips", DEFAULT_TEST_VIEWS[0])
        kwargs.setdefault("crops", DEFAULT_TEST_VIEWS[1])
    else:  # test views: one dataset_kwargs dict serves every split (TrainConfig), so they apply to "test" only
        kwargs.pop("clips", None)
        kwargs.pop("crops", None)
    if name == "ssv2":
        kwargs.setdefault("flip", False)
    records = ann.records
    if num_samples is not None:
        k = check_int("num_samples", num_samples, min_value=1)
        if k < len(records):
            pick = np.random.default_rng([seed, SPLIT_IDS[split]]).permutation(len(records))[:k]
            records = [records[j] for j in sorted(pick.tolist())]
    return VideoDataset(records, ann.classes, mode=split, seed=seed, problems=ann.problems, **kwargs)
