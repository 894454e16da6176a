"""Analyses of models and layers (no training, no plotting): parameter and MAC counts
(:mod:`.complexity`), receptive fields measured and in theory (:mod:`.receptive`, :mod:`.probes`),
captum attributions over time (:mod:`.attribution`), the gradients of multiplicative cross-stream
gates (:mod:`.gradient_gating`), SRTG cycle-consistency views (:mod:`.cycle`) and per-head accuracy
of two-stream networks (:mod:`.heads`). Plots of their outputs live in :mod:`actionrec.viz`."""
