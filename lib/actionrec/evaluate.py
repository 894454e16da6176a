"""``python -m actionrec.evaluate``: multi-view testing of a finished run (:func:`actionrec.cli.evaluate_main`;
the evaluation itself is :mod:`actionrec.train.evaluate`)."""

from .cli import evaluate_main

if __name__ == "__main__":
    raise SystemExit(evaluate_main())
