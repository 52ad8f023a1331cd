"""pytest plugin ``scripts/verify`` loads (``-p tests.infra.report``): one JSON line per check
as it finishes, written to the file descriptor ``$RELAYMD_VERIFY_EVENTS_FD``, which the
command reads and prints as the run goes (infra/verify/suite.py). pytest's own terminal
output is kept aside and shown only when pytest itself fails.
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

import pytest

EVENTS_VARIABLE = "RELAYMD_VERIFY_EVENTS_FD"
_stream: IO[str] | None = None


def _emit(event: dict[str, Any]) -> None:
    global _stream
    if _stream is None:
        descriptor = os.environ.get(EVENTS_VARIABLE)
        if not descriptor:
            return
        _stream = os.fdopen(int(descriptor), "w", buffering=1, encoding="utf-8")
    _stream.write(json.dumps(event, ensure_ascii=False) + "\n")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    properties = dict(report.user_properties)
    if report.when == "call" or (report.when == "setup" and not report.passed):
        if "verdict" not in properties:
            # Failed before the check could report (a fixture): pytest's own words.
            properties = {
                "group": "suite",
                "title": report.nodeid,
                "verdict": "FAIL" if report.failed else "SKIP",
                "text": _plain(report),
            }
        _emit({"event": "check", "id": report.nodeid, "duration": report.duration, **properties})


def _plain(report: pytest.TestReport) -> str:
    text = str(report.longrepr or "")
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else report.outcome


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _emit({"event": "collect-error", "text": str(report.longrepr)[-2000:]})


def pytest_unconfigure(config: pytest.Config) -> None:
    global _stream
    if _stream is not None:
        _stream.close()
        _stream = None
