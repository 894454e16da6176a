"""``python -m actionrec.train``: the training command line (:func:`actionrec.cli.train_main`)."""

from ..cli import train_main

raise SystemExit(train_main())
