"""Plotting only: arrays and dicts in, matplotlib figures out (numpy, matplotlib, ipywidgets and
``actionrec.utils``; no torch model code). What is drawn is computed in :mod:`actionrec.analysis`.

* :mod:`.clips`: ``to_frames``, ``show_clip``, ``clip_grid``, ``animate_clip``, ``plot_clip_attribution``
* :mod:`.results`: ``plot_accuracy_vs_gmacs``, ``plot_grouped_bars``, ``plot_learning_curves``
* :mod:`.receptive`: ``plot_rf``, ``plot_rf_grid``, ``plot_temporal_profiles``, ``plot_stream_receptive_fields``
* :mod:`.cycle`: ``plot_cycle_trajectories``, ``plot_cycle_matrices``, ``plot_cycle_errors``,
  ``plot_cycle_panel``, ``plot_temperature_sweep``, ``plot_gate_stats``
* :mod:`.explorer`: ``make_explorer`` (the notebooks' ipywidgets explorer)
"""

from .clips import SYNTH_MEAN, SYNTH_STD, animate_clip, clip_grid, plot_clip_attribution, show_clip, to_frames, to_numpy
from .cycle import (plot_cycle_errors, plot_cycle_matrices, plot_cycle_panel, plot_cycle_trajectories, plot_gate_stats,
                    plot_temperature_sweep)
from .explorer import make_explorer
from .receptive import plot_rf, plot_rf_grid, plot_stream_receptive_fields, plot_temporal_profiles
from .results import plot_accuracy_vs_gmacs, plot_grouped_bars, plot_learning_curves

__all__ = ["SYNTH_MEAN", "SYNTH_STD", "to_numpy", "to_frames", "show_clip", "clip_grid", "animate_clip",
           "plot_clip_attribution", "plot_accuracy_vs_gmacs", "plot_grouped_bars", "plot_learning_curves", "plot_rf",
           "plot_rf_grid", "plot_temporal_profiles", "plot_stream_receptive_fields", "plot_cycle_trajectories",
           "plot_cycle_matrices", "plot_cycle_errors", "plot_cycle_panel", "plot_temperature_sweep", "plot_gate_stats",
           "make_explorer"]
