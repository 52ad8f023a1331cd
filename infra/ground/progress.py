"""Progress lines of the long commands, on stderr: stdout carries only their results."""

from __future__ import annotations

import sys


def progress(message: str) -> None:
    print(f"==> {message}", file=sys.stderr, flush=True)
