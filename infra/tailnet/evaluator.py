"""Offline evaluation of the policy's own ``tests`` block.

Covers exactly the syntax :mod:`infra.tailnet.policy` emits: ``accept`` rules with
tag, user, ``*``, IP and CIDR selectors, port lists/ranges/``*`` and an optional
``proto``; tests whose source is a user or tag and whose destinations are
``tag:port`` or ``ip:port``. Tailscale runs the same tests on every policy update
and rejects the whole policy if one fails; running them here stops a bad plan
before anything is declared, with an error that names the rule.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from infra.ground.errors import ConfigError, ConfigIssue
from infra.tailnet.policy import AclRule, Expectation, Policy

TEST_PROTOCOL = "tcp"
"""Policy tests check TCP connections."""

FIX_HINT = (
    "the stack config passed its checks, so the policy builder (infra/tailnet/policy.py) "
    "emitted a rule that breaks its own promises: fix the rule, not the config"
)


@dataclass(frozen=True)
class Failure:
    src: str
    expectation: Expectation
    expected_accept: bool
    accepted_by: tuple[str, ...]

    def issue(self) -> ConfigIssue:
        flow = f"{self.src} -> {self.expectation.dst}"
        if self.expected_accept:
            expected = f"accepted by rule {self.expectation.asserts}, but no rule accepts it"
        else:
            rules = ", ".join(self.accepted_by)
            expected = (
                f"denied ({self.expectation.asserts}), but rule {rules} accepts it; {FIX_HINT}"
            )
        return ConfigIssue(f"tailnet policy test {self.expectation.asserts!r}", flow, expected)


def split_target(target: str) -> tuple[str, str]:
    """``tag:x:22`` → (``tag:x``, ``22``): the port part follows the last colon."""
    selector, separator, ports = target.rpartition(":")
    if not separator or not selector:
        raise ValueError(f"{target!r} has no ':<port>' part")
    return selector, ports


def ports_include(ports: str, port: int) -> bool:
    for part in ports.split(","):
        if part == "*":
            return True
        low, _, high = part.partition("-")
        if int(low) <= port <= int(high or low):
            return True
    return False


def selector_matches(selector: str, target: str) -> bool:
    """Does a rule's destination selector cover a test's destination host?"""
    if selector in ("*", target):
        return True
    try:
        address = ipaddress.ip_address(target)
        network = ipaddress.ip_network(selector, strict=False)
    except ValueError:
        return False  # a tag is not an address: only the same tag matches it
    return address in network


def rule_accepts(rule: AclRule, src: str, dst: str, proto: str = TEST_PROTOCOL) -> bool:
    if rule.proto is not None and rule.proto != proto:
        return False
    if "*" not in rule.src and src not in rule.src:
        return False
    host, port_text = split_target(dst)
    port = int(port_text)
    for entry in rule.dst:
        selector, ports = split_target(entry)
        if selector_matches(selector, host) and ports_include(ports, port):
            return True
    return False


def accepting_rules(policy: Policy, src: str, dst: str, proto: str = TEST_PROTOCOL) -> list[str]:
    return [rule.name for rule in policy.acls if rule_accepts(rule, src, dst, proto)]


def failures(policy: Policy) -> Iterator[Failure]:
    for test in policy.tests:
        for expectation in test.accept:
            if not accepting_rules(policy, test.src, expectation.dst):
                yield Failure(test.src, expectation, True, ())
        for expectation in test.deny:
            accepted_by = accepting_rules(policy, test.src, expectation.dst)
            if accepted_by:
                yield Failure(test.src, expectation, False, tuple(accepted_by))


def check_policy(policy: Policy) -> None:
    """Raise ConfigError (exit status 2) naming each rule whose test fails."""
    issues = [failure.issue() for failure in failures(policy)]
    if issues:
        raise ConfigError("tailnet policy tests", issues)
