"""``scripts/verify --stack``: bad input exits 2 naming the field; the summary reads JUnit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import app as cli
from infra.verify.summary import summarize


def test_a_stack_without_a_render_or_inventory_says_what_to_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["verify", "--stack", "staging", "--build", str(tmp_path / "none")]) == 2
    assert "run scripts/plan --stack staging first" in capsys.readouterr().err


def test_a_bad_inventory_field_exits_2_and_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        json.dumps(
            {
                "orchestrator": {"host": "local://", "hostname": "o", "tag": "tag:o"},
                "workers": [{"host": "local://", "hostname": "w"}],
            }
        )
    )
    arguments = ["--stack", "staging", "--build", str(tmp_path), "--inventory", str(inventory)]
    assert cli.main(["verify", *arguments]) == 2
    assert "workers[0].tag: missing" in capsys.readouterr().err


DEEP_JSON = "[" * 100_000 + "]" * 100_000


def _nodes(extra: str) -> str:
    """A complete inventory with ``extra`` (JSON members) added."""
    node = {"host": "local://", "hostname": "o", "tag": "tag:o"}
    nodes = json.dumps({"orchestrator": node, "workers": [dict(node, hostname="w")]})
    return nodes[:-1] + ", " + extra + "}"


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (DEEP_JSON, "--inventory"),
        (b"\xff\xfe", "--inventory"),
        (_nodes('"budget_seconds": NaN'), "inventory.budget_seconds: got nan"),
        (_nodes('"budget_seconds": 1e400'), "inventory.budget_seconds: got inf"),
        (_nodes('"probe_timeout_seconds": -1'), "inventory.probe_timeout_seconds: got -1.0"),
    ],
)
def test_an_unreadable_inventory_or_a_duration_that_never_ends_exits_2(
    content: str | bytes, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventory.json"
    if isinstance(content, bytes):
        inventory.write_bytes(content)
    else:
        inventory.write_text(content)
    arguments = ["--stack", "staging", "--build", str(tmp_path), "--inventory", str(inventory)]
    assert cli.main(["verify", *arguments]) == 2
    err = capsys.readouterr().err
    assert named in err and "Traceback" not in err


@pytest.mark.parametrize("content", [DEEP_JSON.encode(), b"\xff"])
def test_an_unreadable_rendered_plan_exits_2(
    content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "plan.json").write_bytes(content)
    assert cli.main(["verify", "--stack", "staging", "--build", str(tmp_path)]) == 2
    assert "plan.json: not readable JSON" in capsys.readouterr().err


def test_summary_lists_each_check_and_the_reason_of_a_failure(tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    report.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.infra.test_orchestrator" name="test_relaymd_unit_active"/>'
        '<testcase classname="tests.infra.test_from_worker" name="test_healthz_is_healthy">'
        '<failure message="CheckFailedError: /healthz: warnings present: [&quot;x&quot;]">'
        "trace</failure></testcase>"
        '<testcase classname="tests.infra.test_relays" name="test_dnsmasq">'
        '<skipped message="no relay"/></testcase>'
        "</testsuite></testsuites>"
    )
    text = summarize(report, 3.25)
    assert "PASS  test_orchestrator::test_relaymd_unit_active" in text
    assert (
        "FAIL  test_from_worker::test_healthz_is_healthy\n      CheckFailedError: /healthz" in text
    )
    assert "SKIP  test_relays::test_dnsmasq" in text
    assert text.endswith("1 fail, 1 pass, 1 skip in 3.2s")
