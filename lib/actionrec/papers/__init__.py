"""One module per paper of the book: its published numbers, its claims decided on our runs, the
run configs of its tables, and the runs chapters share.

* :mod:`.mtnet` — MTNet's channel-ratio claim (Table 2).
* :mod:`.srtg` — SRTG's placement claims (Table 1).
* :mod:`.mixtconv` — MixTConv's kernel-size table and claims.
* :mod:`.msti` — MSTI-Net's unit-variant table and claims (Table 2).
* :mod:`.multiplier` — ST-Multiplier networks' Tables 2 and 3, their claims, the two-stream run configs.
* :mod:`.synthactions` — SynthActions runs several chapters share, and finding them.
* :mod:`.readings` — every reading of an ambiguous paper and every departure from a paper or its
  official code, with the evidence (:data:`~.readings.READINGS`; the book page "Readings and
  departures" is :func:`~.readings.readings_markdown`).

The machinery they use (statistics, grids, summaries, claim verdicts) is paper-agnostic and lives
in :mod:`actionrec.experiments`.
"""

from .readings import READINGS, Reading, readings_markdown

__all__ = ["READINGS", "Reading", "readings_markdown"]
