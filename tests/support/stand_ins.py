"""Stand-in command-line tools for tests: scripts put first on PATH that record their argv."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest


def put_first_on_path(
    monkeypatch: pytest.MonkeyPatch, directory: Path, names: Iterable[str], script: str
) -> Path:
    """Install ``script`` as each of ``names`` in ``directory`` and put it first on PATH.

    The scripts append their argv, one JSON list per line, to the returned log, which they
    find in $STAND_IN_CALLS."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        tool = directory / name
        tool.write_text(script)
        tool.chmod(0o755)
    calls = directory.parent / "calls.jsonl"
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("STAND_IN_CALLS", str(calls))
    return calls


RECORD_ARGV_PY = """#!/usr/bin/env python3
import json, os, sys
with open(os.environ["STAND_IN_CALLS"], "a") as calls:
    calls.write(json.dumps([os.path.basename(sys.argv[0]), *sys.argv[1:]]) + "\\n")
"""
"""The head of a Python stand-in: records its argv; what follows answers like the tool."""
