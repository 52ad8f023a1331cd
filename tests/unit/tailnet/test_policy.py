"""The policy as data and its rendered HuJSON, for the example stack."""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import Any

import pytest

from infra.ground import hujson
from infra.tailnet.evaluator import check_policy
from infra.tailnet.policy import (
    ADMINS_SSH_TO_HOSTS,
    ADMINS_TO_RELAY_ROUTES,
    WORKERS_TO_ORCHESTRATOR,
    build_policy,
    probe_address,
)
from infra.tailnet.policy_document import policy_document, render_policy
from tests.support.decided import decided_of
from tests.support.stacks import example_raw_config
from tests.unit.tailnet.support import config_from, example_stack_config

ADMINS = ["alice@example.org", "bob@example.org"]


def test_tag_owners_are_the_admins_for_all_three_tags() -> None:
    document = hujson.parse(render_policy(build_policy(example_stack_config())))
    assert document["tagOwners"] == {
        "tag:relaymd-orchestrator": ADMINS,
        "tag:relaymd-worker": ADMINS,
        "tag:relaymd-relay": ADMINS,
    }


def test_workers_appear_as_source_in_exactly_one_rule_to_the_api_port() -> None:
    document = hujson.parse(render_policy(build_policy(example_stack_config())))
    worker_rules = [rule for rule in document["acls"] if "tag:relaymd-worker" in rule["src"]]
    assert worker_rules == [
        {
            "action": "accept",
            "src": ["tag:relaymd-worker"],
            "proto": "tcp",
            "dst": ["tag:relaymd-orchestrator:36158"],
        }
    ]
    destinations = [dst for rule in document["acls"] for dst in rule["dst"]]
    assert not [dst for dst in destinations if dst.startswith("tag:relaymd-worker")]


def test_routes_are_auto_approved_for_relays_and_reachable_by_admins_only() -> None:
    document = hujson.parse(render_policy(build_policy(example_stack_config())))
    assert document["autoApprovers"] == {"routes": {"10.100.10.0/24": ["tag:relaymd-relay"]}}
    route_rules = [rule for rule in document["acls"] if "10.100.10.0/24:*" in rule["dst"]]
    assert [rule["src"] for rule in route_rules] == [ADMINS]


def test_no_routes_means_no_auto_approvers_and_no_route_rule() -> None:
    raw = example_raw_config()
    raw["relays"][0]["advertise_routes"] = []
    policy = build_policy(config_from(raw))
    assert policy.route_approvers == ()
    assert ADMINS_TO_RELAY_ROUTES not in [rule.name for rule in policy.acls]
    assert "autoApprovers" not in hujson.parse(render_policy(policy))


def test_every_rule_and_test_carries_a_comment_naming_it() -> None:
    policy = build_policy(example_stack_config())
    text = render_policy(policy)
    for rule in policy.acls:
        assert f"    // {rule.name}: " in text
    assert text.count('"src":') == len(policy.acls) + len(policy.tests)


def test_tests_block_asserts_the_api_accept_and_the_denials_for_workers() -> None:
    policy = build_policy(example_stack_config())
    worker_test = next(test for test in policy.tests if test.src == "tag:relaymd-worker")
    assert [e.dst for e in worker_test.accept] == ["tag:relaymd-orchestrator:36158"]
    assert worker_test.accept[0].asserts == WORKERS_TO_ORCHESTRATOR
    denied = {e.dst for e in worker_test.deny}
    assert {
        "tag:relaymd-orchestrator:22",
        "tag:relaymd-orchestrator:36159",
        "tag:relaymd-worker:36158",
        "tag:relaymd-relay:22",
        "10.100.10.1:22",
    } <= denied


def test_group_and_autogroup_admins_own_tags_but_are_not_test_sources() -> None:
    policy = build_policy(example_stack_config(admins=["autogroup:admin", "carol@example.org"]))
    assert [test.src for test in policy.tests][-1] == "carol@example.org"
    assert "autogroup:admin" not in [test.src for test in policy.tests]
    assert policy.tag_owners[0].owners == ("autogroup:admin", "carol@example.org")


@pytest.mark.parametrize(
    ("route", "probe"),
    [
        pytest.param("10.100.10.0/24", "10.100.10.1", id="a subnet: its first host"),
        pytest.param("10.0.0.7/32", "10.0.0.7", id="a single host: itself"),
    ],
)
def test_probe_address_is_a_host_inside_the_route(route: str, probe: str) -> None:
    assert probe_address(IPv4Network(route)) == probe


def test_rendered_policy_is_an_artifact_and_matches_the_data(
    example_config: dict[str, Any],
) -> None:
    model = decided_of(example_config)
    files = model.artifacts
    text = files["tailscale/policy.hujson"]
    assert text == model.tailnet.policy_text
    assert hujson.parse(text) == hujson.plain(policy_document(model.tailnet.policy))


def test_admins_ssh_reaches_the_orchestrator_on_its_configured_ssh_port() -> None:
    """sshd listens on orchestrator.ssh_port (hardening.nix); the policy must open that port."""
    raw = example_raw_config()
    raw["orchestrator"]["ssh_port"] = 2222
    policy = build_policy(config_from(raw))
    ssh_rule = next(rule for rule in policy.acls if rule.name == ADMINS_SSH_TO_HOSTS)
    assert ssh_rule.dst == ("tag:relaymd-orchestrator:2222", "tag:relaymd-relay:22")
    check_policy(policy)
    worker_test = next(test for test in policy.tests if test.src == "tag:relaymd-worker")
    assert "tag:relaymd-orchestrator:2222" in [e.dst for e in worker_test.deny]
    admin_test = next(test for test in policy.tests if test.src == "alice@example.org")
    assert "tag:relaymd-orchestrator:2222" in [e.dst for e in admin_test.accept]


def test_each_device_is_looked_up_by_the_tag_of_its_own_host_key(
    example_config: dict[str, Any],
) -> None:
    """TailnetDevices only maps this onto lookups; the tag a device carries is decided here."""
    tailnet = decided_of(example_config).tailnet
    tags = dict(tailnet.device_tags)
    assert tags == {
        "relaymd-orchestrator": "tag:relaymd-orchestrator",
        "relaymd-relay": "tag:relaymd-relay",
    }
    assert tags == {host: spec.tags[0] for host, spec in tailnet.host_keys}
