"""The offline evaluator: matching semantics, and failures that name the rule."""

from __future__ import annotations

import dataclasses

import pytest

from infra.config.hosts import orchestrator_host, relay_hosts
from infra.ground.errors import ConfigError, RefusedError
from infra.tailnet.evaluator import (
    accepting_rules,
    check_policy,
    failures,
    ports_include,
    rule_accepts,
    selector_matches,
)
from infra.tailnet.model import build_tailnet_model
from infra.tailnet.policy import AclRule, build_policy
from tests.unit.tailnet.support import example_stack_config


@pytest.mark.parametrize(
    ("ports", "port", "expected"),
    [("*", 1, True), ("22", 22, True), ("22", 23, False), ("22,53", 53, True), ("1-9", 10, False)],
)
def test_ports(ports: str, port: int, expected: bool) -> None:
    assert ports_include(ports, port) is expected


@pytest.mark.parametrize(
    ("selector", "target", "expected"),
    [
        ("tag:a", "tag:a", True),
        ("tag:a", "tag:b", False),
        ("*", "tag:b", True),
        ("10.0.0.0/24", "10.0.0.9", True),
        ("10.0.0.0/24", "10.0.1.9", False),
        ("10.0.0.9", "10.0.0.9", True),
        ("10.0.0.0/24", "tag:a", False),
    ],
)
def test_selectors(selector: str, target: str, expected: bool) -> None:
    assert selector_matches(selector, target) is expected


@pytest.mark.parametrize(
    ("source", "protocol", "expected"),
    [
        pytest.param("tag:a", (), False, id="a policy test's default, tcp"),
        pytest.param("tag:a", ("udp",), True, id="its protocol"),
        pytest.param("tag:c", ("udp",), False, id="its protocol from another source"),
    ],
)
def test_a_rule_with_a_protocol_only_accepts_that_protocol(
    source: str, protocol: tuple[str, ...], expected: bool
) -> None:
    rule = AclRule("r", "", ("tag:a",), ("tag:b:53",), "udp")
    assert rule_accepts(rule, source, "tag:b:53", *protocol) is expected


def test_the_example_policy_passes_its_own_tests() -> None:
    policy = build_policy(example_stack_config())
    assert list(failures(policy)) == []
    check_policy(policy)


def test_an_extra_rule_that_lets_workers_ssh_fails_naming_the_rule() -> None:
    policy = build_policy(example_stack_config())
    leaky = AclRule("debug-shell", "", ("tag:relaymd-worker",), ("tag:relaymd-orchestrator:*",))
    broken = dataclasses.replace(policy, acls=(*policy.acls, leaky))
    with pytest.raises(ConfigError) as raised:
        check_policy(broken)
    message = str(raised.value)
    assert "rule debug-shell accepts it" in message
    assert "tag:relaymd-worker -> tag:relaymd-orchestrator:22" in message
    assert "workers-reach-only-the-orchestrator-api" in message


def test_a_missing_allow_fails_naming_the_rule_that_should_accept() -> None:
    policy = build_policy(example_stack_config())
    without_api = dataclasses.replace(
        policy, acls=tuple(r for r in policy.acls if r.name != "workers-to-orchestrator")
    )
    with pytest.raises(ConfigError, match="accepted by rule workers-to-orchestrator"):
        check_policy(without_api)


def test_a_worker_tag_among_the_admins_is_refused_at_the_edge_and_by_the_policy_tests() -> None:
    admins = ["alice@example.org", "tag:relaymd-worker"]
    with pytest.raises(ConfigError, match=r"tailnet\.admins\[1\]: got \"tag:relaymd-worker\""):
        example_stack_config(admins=admins)
    # Behind the edge (validation bypassed), the policy's own tests still refuse it.
    valid = example_stack_config()
    config = valid.model_copy(
        update={"tailnet": valid.tailnet.model_copy(update={"admins": admins})}
    )
    with pytest.raises(ConfigError) as raised:
        build_tailnet_model(config, orchestrator_host(config), relay_hosts(config))
    assert isinstance(raised.value, RefusedError)
    assert "rule admins-ssh-to-hosts accepts it" in str(raised.value)


def test_accepting_rules_lists_every_rule_that_matches() -> None:
    policy = build_policy(example_stack_config())
    assert accepting_rules(policy, "alice@example.org", "tag:relaymd-orchestrator:36158") == [
        "admins-to-orchestrator-api"
    ]
