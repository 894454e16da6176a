"""``python -m actionrec.data.prepare``: decode a dataset's videos once into a frame cache.

The command line is :func:`actionrec.cli.prepare_main`; the work is
:func:`actionrec.data.videos.prepare.prepare_cache`."""

from actionrec.cli import prepare_main

__all__ = ["prepare_main"]

if __name__ == "__main__":
    raise SystemExit(prepare_main())
