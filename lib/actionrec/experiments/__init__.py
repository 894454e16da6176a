"""Paper-agnostic experiment machinery: configs x seeds → one row per run → mean ± CI → verdicts.

* :mod:`.stats` — Student's t (CDF, quantile), mean ± CI, the Welch interval.
* :mod:`.grid` — train a grid of configs x seeds, one run per core; reuse finished runs; snapshots.
* :mod:`.summary` — summaries, comparisons, paired differences, curves, result files, table cells.
* :mod:`.reversal` — confusion of time-reversed class pairs (SynthActions).
* :mod:`.verdicts` — a paper's claims decided on summaries (holds / clearly / contradicted).
* :mod:`.setup` — the data settings and base config every ablation grid shares.
* :mod:`.params` — validation of the notebooks' parameters.

The papers' own tables and claims are in :mod:`actionrec.papers`.
"""
