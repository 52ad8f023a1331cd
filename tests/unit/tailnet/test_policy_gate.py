"""A policy that fails its own tests stops the plan before any resource, with exit 2."""

from __future__ import annotations

from typing import Any

import pytest

from infra import cli
from tests.support.stacks import example_raw_config


def test_cli_exits_2_naming_the_rule_and_declares_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    raw = example_raw_config()
    raw["tailnet"]["admins"] = ["alice@example.org", "tag:relaymd-worker"]
    monkeypatch.setattr(cli, "read_stack_file", lambda root, stack: raw)

    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the program ran although the policy failed its tests")

    monkeypatch.setattr(cli, "run_program", must_not_run)
    status = cli.main(["plan", "--stack", "example", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "tailnet policy test 'workers-reach-only-the-orchestrator-api'" in err
    assert "rule admins-ssh-to-hosts accepts it" in err
    assert not (tmp_path / "out").exists()


def test_the_program_itself_refuses_before_declaring_anything() -> None:
    from infra.plan.engine import run_program

    raw = example_raw_config()
    raw["tailnet"]["tags"] = {"worker": "tag:relaymd-orchestrator"}
    with pytest.raises(Exception, match="workers-to-orchestrator accepts it"):
        run_program("example", raw)
