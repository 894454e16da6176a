"""Paper-agnostic experiment machinery: configs x seeds → one row per run → mean ± CI → verdicts.

* :mod:`.stats` — mean ± CI and the Welch interval (scipy.stats).
* :mod:`.protocol` — claims as data; paired-seed verdicts (holds / reversed / no effect larger than
  δ / inconclusive), Holm within a chapter.
* :mod:`.power` — detectable effect and seeds needed (noncentral t).
* :mod:`.grid` — train a grid of configs x seeds, one run per core; reuse finished runs; snapshots.
* :mod:`.references` — provenance of committed reference results; stale marking (``make check-references``).
* :mod:`.progress` — a grid's progress (runs done / total, elapsed, ETA) as lines in the kernel's terminal.
* :mod:`.summary` — summaries, comparisons, paired differences, curves, result files, table cells.
* :mod:`.reversal` — confusion of time-reversed class pairs (SynthActions).
* :mod:`.verdicts` — a paper's claims decided on summaries (holds / clearly / contradicted).
* :mod:`.setup` — the data settings and base config every ablation grid shares.
* :mod:`.params` — validation of the notebooks' parameters.

The papers' own tables and claims are in :mod:`actionrec.papers`.
"""
