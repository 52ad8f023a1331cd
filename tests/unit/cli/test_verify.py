"""``scripts/verify --stack``: bad input exits 2 naming the field; the summary reads JUnit."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from infra.cli import app as cli
from infra.ground.errors import RefusedError
from infra.verify.summary import Report, RunVerdict
from tests.support.nixeval import nix_instantiate

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "example"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHZpZXctb25seS1rZXktZm9yLXRlc3RzLTAwMDAwMDA"


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
    nodes = json.dumps(
        {"orchestrator": node, "workers": [dict(node, hostname="w")], "policy": {"acls": []}}
    )
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


def _event(verdict: str, title: str, text: str = "", **extra: object) -> dict[str, object]:
    return {
        "group": extra.pop("group", "relaymd-relay"),
        "title": title,
        "verdict": verdict,
        "text": text,
        **extra,
    }


def test_lines_are_grouped_by_host_and_plain() -> None:
    report = Report(frozenset({"no-ipv6"}))
    lines = report.add(_event("PASS", "relaymd-relay: dnsmasq", "answers internal"))
    lines += report.add(_event("FAIL", "relaymd-relay: tailscaled", "BackendState is 'Stopped'"))
    lines += report.add(
        _event("SKIP", "w: /healthz over IPv6", "no IPv6", group="w", skip_id="no-ipv6")
    )
    assert lines == [
        "relaymd-relay",
        "  PASS        relaymd-relay: dnsmasq: answers internal",
        "  FAIL        relaymd-relay: tailscaled: BackendState is 'Stopped'",
        "w",
        "  SKIP        w: /healthz over IPv6: no IPv6 [--allow-skip no-ipv6: allowed]",
    ]
    assert report.verdict() is RunVerdict.FAILED
    assert report.closing(3.25)[:2] == [
        "1 passed, 1 failed, 1 skipped in 3.2s",
        "verdict: 1 check(s) failed",
    ]


def test_what_a_host_printed_cannot_reach_the_terminal_raw() -> None:
    report = Report()
    (_, line) = report.add(_event("FAIL", "r: x", "bad\x1b[2J\x1b]0;owned\x07 thing\nnext"))
    assert "\x1b" not in line and "\x07" not in line and "\n" not in line
    assert line.endswith("r: x: bad thing next")
    assert len(report.add(_event("FAIL", "r: y", "x" * 5000))[0]) < 700


@pytest.mark.parametrize(
    ("events", "verdict"),
    [
        ([_event("PASS", "a")], RunVerdict.GREEN),
        ([_event("PASS", "a"), _event("SKIP", "b", skip_id="no-ipv6")], RunVerdict.FAILED),
        ([_event("SKIP", "b", skip_id="no-worker")], RunVerdict.GREEN),
        (
            [_event("FAIL", "r reachable", unreachable=True), _event("NOT JUDGED", "c")],
            RunVerdict.UNREACHABLE,
        ),
        ([_event("FAIL", "r reachable", unreachable=True), _event("FAIL", "d")], RunVerdict.FAILED),
        ([_event("PASS", "a"), _event("NOT JUDGED", "b")], RunVerdict.FAILED),
        ([], RunVerdict.FAILED),
    ],
)
def test_green_means_every_check_passed(
    events: list[dict[str, object]], verdict: RunVerdict
) -> None:
    report = Report(frozenset({"no-worker"}))
    for event in events:
        report.add(event)
    assert report.verdict() is verdict


def test_a_skip_not_allowed_says_how_to_allow_it() -> None:
    report = Report()
    report.add(_event("SKIP", "w: MagicDNS", "no worker", skip_id="no-worker"))
    assert report.closing(1.0)[-1] == (
        "verdict: not green, 1 check(s) skipped: a skip proves nothing; accept one by name "
        "with --allow-skip (no-worker)"
    )


INVENTORY = {
    "orchestrator": {"host": "local://", "hostname": "o", "tag": "tag:o"},
    "policy": {"acls": [], "tests": []},
}


def test_unknown_options_and_skip_names_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arguments = ["verify", "--stack", "staging", "--build", str(tmp_path)]
    with pytest.raises(SystemExit) as raised:
        cli.main([*arguments, "--bogus"])
    assert raised.value.code == 2
    with pytest.raises(SystemExit) as raised:
        cli.main([*arguments, "--allow-skip", "everything"])
    assert raised.value.code == 2
    assert "invalid choice: 'everything'" in capsys.readouterr().err


def test_pytest_refusing_what_follows_the_separator_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps(INVENTORY))
    arguments = [
        "verify",
        "--stack",
        "staging",
        "--inventory",
        str(inventory),
        "--build",
        str(tmp_path),
    ]
    assert cli.main([*arguments, "--", "--no-such-pytest-option"]) == 2
    assert "pytest refused the arguments after --" in capsys.readouterr().err
    assert cli.main([*arguments, "--", "-k", "nothing-is-called-this"]) == 2
    assert "select no check" in capsys.readouterr().err


def test_no_pulumi_call_when_the_inventory_gives_the_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A logged-out Pulumi CLI must not stop a run whose inventory file has it all."""
    nix_instantiate()
    from infra.verify.suite import load_inventory

    build = tmp_path / "build"
    shutil.copytree(GOLDEN, build)
    called = tmp_path / "called"
    fake = tmp_path / "bin" / "pulumi"
    fake.parent.mkdir()
    fake.write_text(f"#!/bin/sh\ntouch {called}\necho 'error: not logged in' >&2\nexit 255\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    complete = tmp_path / "complete.json"
    complete.write_text(
        json.dumps(
            {
                "orchestrator": {"dns_name": "relaymd-orchestrator.tail.ts.net", "port": 36158},
                "relays": [{"hostname": "relaymd-relay", "ssh_host_key": KEY}],
            }
        )
    )
    inventory = load_inventory("example", build, complete)
    assert inventory.relays[0].ssh_host_key == KEY
    assert not called.exists()
    with pytest.raises(RefusedError, match="not logged in; log in to the stack's backend"):
        load_inventory("example", build, None)
    assert called.exists()
