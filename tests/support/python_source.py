"""Parsing the project's Python source in tests.

CPython 3.11 can leave a thread's recursion bookkeeping off after a caught RecursionError (the
parsers' tests provoke some on purpose), and a later ``ast.parse`` in that thread then fails
with "AST constructor recursion depth mismatch". A fresh thread starts with clean bookkeeping;
:func:`parse_python` also keeps the collector's finalizers (the suite leaves futures whose
unretrieved exceptions are formatted when collected) from parsing in the middle of it.
"""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from infra.ground.python_source import parse_python


def parse_file(path: Path) -> ast.Module:
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(parse_python, path.read_text(encoding="utf-8"), str(path)).result()
