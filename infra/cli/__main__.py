"""The front door's process: ``python -m infra.cli <command> ...`` (every ``scripts/*``).

A plan is a short-lived process that holds ~600,000 objects until it exits, most of them the
classes the provider SDKs generate. With CPython's default thresholds the cyclic garbage
collector walks them again and again while they load and while the mock engine runs, then
once more at exit, and frees almost nothing (docs/performance.md). So this process collects
rarely, with the thresholds mypy sets for the same reason (mypy/build.py), and freezes what
is left before it exits. Code that imports :mod:`infra.cli.app` keeps the defaults.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLDS = (200_000, 30, 30)
"""Allocations before a young collection, then young collections per older one (gc docs)."""


def run() -> int:
    gc.set_threshold(*GC_THRESHOLDS)
    # Imported after the thresholds are set: its imports create most of those objects.
    from infra.cli.app import main

    status = main()
    # The collection at interpreter exit skips the permanent generation.
    gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(run())
