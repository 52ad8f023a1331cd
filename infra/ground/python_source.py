"""Parsing Python source with ``ast`` safely on CPython 3.11.

CPython 3.11 counts the depth of the tree it builds in one interpreter-wide field
(Python-ast.c, ``PyAST_mod2obj``) and raises ``SystemError: AST constructor recursion depth
mismatch`` when another parse runs in the middle of it. The collector can start one: a
finalizer it runs that formats a traceback parses the failing line for its carets (3.11's
traceback.py, ``_extract_caret_anchors_from_line_segment``). The fix (CPython gh-106905) was
not backported to 3.11, so the collector is paused while a tree is built.
"""

from __future__ import annotations

import ast
import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection (and so no finalizer) inside the block; restored after it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    with collector_paused():
        return ast.parse(source, filename)
