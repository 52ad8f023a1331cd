"""Every check of the plan, one item each: the verdict the engine reached for it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.engine import Engine, Verdict


def test_check(check_id: str, engine: Engine, request: pytest.FixtureRequest) -> None:
    check = engine.check(check_id)
    outcome = engine.outcome(check_id)
    details: dict[str, Any] = {
        "group": check.group,
        "title": check.title,
        "prober": check.prober,
        "target": check.target,
        "verdict": outcome.verdict.value,
        "text": outcome.text,
    }
    if outcome.skip_id:
        details["skip_id"] = outcome.skip_id
    if outcome.unreachable:
        details["unreachable"] = True
    # The event line, and the JUnit case's properties (as record_property stores them).
    request.node.user_properties.extend(details.items())
    if outcome.verdict is Verdict.FAIL:
        pytest.fail(outcome.text, pytrace=False)
    if outcome.verdict is Verdict.SKIP:
        pytest.skip(f"[{outcome.skip_id}] {outcome.text}")
    if outcome.verdict is Verdict.NOT_JUDGED:
        pytest.skip(f"not judged: {outcome.text}")
