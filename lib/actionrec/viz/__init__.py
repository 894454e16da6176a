"""Plotting only: arrays and dicts in, matplotlib figures out (numpy, matplotlib, ipywidgets and
``actionrec.utils``; no torch model code). What is drawn is computed in :mod:`actionrec.analysis`.

* :mod:`.clips`: ``to_frames``, ``show_clip``, ``clip_grid``, ``animate_clip``, ``plot_clip_attribution``
* :mod:`.results`: ``plot_accuracy_vs_gmacs``, ``plot_grouped_bars``, ``plot_learning_curves``,
  ``plot_time_vs_macs``, ``plot_paper_bars``, ``plot_error_bars``
* :mod:`.receptive`: ``plot_rf``, ``plot_rf_grid``, ``plot_temporal_profiles``, ``plot_stream_receptive_fields``,
  ``plot_depth_extent``, ``plot_spread_by_stage``, ``plot_field_view``
* :mod:`.cycle`: ``plot_cycle_trajectories``, ``plot_cycle_matrices``, ``plot_cycle_errors``,
  ``plot_cycle_panel``, ``plot_temperature_sweep``, ``plot_gate_stats``, ``plot_perturbation_gates``,
  ``plot_gate_explorer``
* :mod:`.kernels` (learned temporal kernels): ``plot_mixtconv_taps``, ``plot_filter_taps``,
  ``plot_beyond_one_frame``
* :mod:`.two_stream`: ``plot_flow_panels``, ``plot_unit_maps``, ``plot_gate_history``, ``plot_gate_maps``
* :mod:`.attribution`: ``plot_window_mass``, ``plot_window_profiles``
* :mod:`.protocol`: ``plot_strip``, ``plot_claims``, ``plot_run_curves``, ``plot_protocol``, ``save_figures``
* :mod:`.explorer`: ``make_explorer`` (the notebooks' ipywidgets explorer), ``shown``; ``static_explorer``
  (its kernel-free counterpart for the book: precomputed selections in matplotlib's JS player), ``sweep``,
  ``selection_label``
"""

from .attribution import plot_window_mass, plot_window_profiles
from .clips import SYNTH_MEAN, SYNTH_STD, animate_clip, clip_grid, plot_clip_attribution, show_clip, to_frames, to_numpy
from .cycle import (plot_cycle_errors, plot_cycle_matrices, plot_cycle_panel, plot_cycle_trajectories,
                    plot_gate_explorer, plot_gate_stats, plot_perturbation_gates, plot_temperature_sweep)
from .explorer import make_explorer, selection_label, shown, static_explorer, sweep
from .kernels import plot_beyond_one_frame, plot_filter_taps, plot_mixtconv_taps
from .protocol import plot_claims, plot_doubling, plot_protocol, plot_run_curves, plot_strip, save_figures
from .receptive import (plot_depth_extent, plot_field_view, plot_rf, plot_rf_grid, plot_spread_by_stage,
                        plot_stream_receptive_fields, plot_temporal_profiles)
from .results import (plot_accuracy_vs_gmacs, plot_error_bars, plot_grouped_bars, plot_learning_curves, plot_paper_bars,
                      plot_time_vs_macs)
from .two_stream import plot_flow_panels, plot_gate_history, plot_gate_maps, plot_unit_maps

__all__ = ["SYNTH_MEAN", "SYNTH_STD", "to_numpy", "to_frames", "show_clip", "clip_grid", "animate_clip",
           "plot_clip_attribution", "plot_accuracy_vs_gmacs", "plot_grouped_bars", "plot_learning_curves",
           "plot_time_vs_macs", "plot_paper_bars", "plot_error_bars", "plot_rf", "plot_rf_grid",
           "plot_temporal_profiles", "plot_stream_receptive_fields", "plot_depth_extent", "plot_spread_by_stage",
           "plot_field_view", "plot_cycle_trajectories", "plot_cycle_matrices", "plot_cycle_errors", "plot_cycle_panel",
           "plot_temperature_sweep", "plot_gate_stats", "plot_perturbation_gates", "plot_gate_explorer",
           "plot_mixtconv_taps", "plot_filter_taps", "plot_beyond_one_frame", "plot_flow_panels", "plot_unit_maps",
           "plot_gate_history", "plot_gate_maps", "plot_window_mass", "plot_window_profiles", "make_explorer", "shown",
           "static_explorer", "sweep", "selection_label", "plot_strip",
           "plot_claims", "plot_run_curves", "plot_doubling", "plot_protocol", "save_figures"]
