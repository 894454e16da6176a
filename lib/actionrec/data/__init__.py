"""Datasets. ``build_dataset(name, split, **kwargs)`` is the one entry point the
training loop and the notebooks use; ``DATASETS`` lists the names."""

from __future__ import annotations

from typing import Callable

from torch.utils.data import Dataset


def _synthactions(split: str, **kwargs) -> Dataset:
    from .synthetic import SynthActions

    return SynthActions(split=split, **kwargs)


DATASETS: dict[str, Callable[..., Dataset]] = {
    "synthactions": _synthactions,
}

SPLITS = ("train", "val", "test")


def build_dataset(name: str, split: str, **kwargs) -> Dataset:
    """Build split ``split`` of dataset ``name`` (``kwargs`` go to its constructor)."""
    if name not in DATASETS:
        raise ValueError(
            f"unknown dataset {name!r}; valid names: {', '.join(sorted(DATASETS))}. "
            "Real datasets (ucf101, hmdb51, ...) are not available yet."
        )
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of {SPLITS}")
    return DATASETS[name](split, **kwargs)
