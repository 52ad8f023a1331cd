"""A policy that fails its own tests stops the plan before any resource, with exit 2.

Valid stack configs produce policies that pass (the edge refuses shared tags and
tag admins), so these tests stand in for a future bug in the policy builder: a rule
that lets workers open a shell on the orchestrator.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from infra.cli import app as cli
from infra.config.settings import StackConfig
from infra.plan import engine
from infra.tailnet import model
from infra.tailnet.policy import AclRule, Policy, build_policy

LEAKY_RULE = AclRule("debug-shell", "", ("tag:relaymd-worker",), ("tag:relaymd-orchestrator:*",))


@pytest.fixture
def leaky_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    def build_leaky_policy(config: StackConfig) -> Policy:
        policy = build_policy(config)
        return dataclasses.replace(policy, acls=(*policy.acls, LEAKY_RULE))

    monkeypatch.setattr(model, "build_policy", build_leaky_policy)


def test_cli_exits_2_naming_the_rule_and_declares_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    leaky_policy: None,
) -> None:
    def must_not_run(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the program ran although the policy failed its tests")

    monkeypatch.setattr(engine, "run_program", must_not_run)
    status = cli.main(["plan", "--stack", "example", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2
    assert "tailnet policy test 'workers-reach-only-the-orchestrator-api'" in err
    assert "rule debug-shell accepts it" in err
    assert not (tmp_path / "out").exists()


def test_the_program_itself_refuses_before_declaring_anything(leaky_policy: None) -> None:
    import pulumi

    from infra.plan.engine import run_program
    from tests.support.stacks import example_raw_config

    with pytest.raises(pulumi.RunError, match="rule debug-shell accepts it"):
        run_program("example", example_raw_config())
