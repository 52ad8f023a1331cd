"""Parsing Python source while the collector runs finalizers that format tracebacks."""

from __future__ import annotations

import ast
import gc
import sys
import traceback
from collections.abc import Callable, Iterator

import pytest

from infra.ground.project import PROJECT_ROOT
from infra.ground.python_source import parse_python

SOURCE = PROJECT_ROOT / "infra" / "config" / "settings.py"


class _FormatsATracebackWhenFreed:
    """Like an asyncio future whose exception nobody retrieved: freed, it formats a traceback,
    and 3.11's traceback module parses the failing line to place its carets."""

    def __init__(self) -> None:
        self.cycle = self

    def __del__(self) -> None:
        try:
            (lambda: 1 / 0)()
        except ZeroDivisionError:
            traceback.format_exc()


@pytest.fixture
def collector_often() -> Iterator[None]:
    thresholds = gc.get_threshold()
    gc.set_threshold(50)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


def _mismatches(parse: Callable[[str], ast.Module]) -> int:
    source = SOURCE.read_text(encoding="utf-8")
    found = 0
    for _ in range(30):
        for _ in range(200):
            _FormatsATracebackWhenFreed()
        try:
            parse(source)
        except SystemError:
            found += 1
    return found


@pytest.mark.usefixtures("collector_often")
def test_a_parse_is_not_broken_by_a_finalizer() -> None:
    assert _mismatches(parse_python) == 0


@pytest.mark.usefixtures("collector_often")
def test_the_control_plain_ast_parse_breaks_on_this_interpreter() -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("CPython 3.12 tracks the depth per parse (gh-106905): nothing to show")
    assert _mismatches(ast.parse) > 0
