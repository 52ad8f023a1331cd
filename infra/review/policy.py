"""The tailnet policy diff in words: who may now reach what, and which tests moved.

Both policies are compared as sets of atoms (one source, one protocol, one destination, one
port range), so a port change reads as one line each way and a new admin as one line,
however the rules are grouped. An added atom no old atom covers widens access.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from infra.review.values import joined

ACL_KEYS = ("acls", "tests", "tagOwners", "autoApprovers")
"""Sections read in detail; a change to any other section is reported by name."""


@dataclass(frozen=True, order=True)
class Atom:
    src: str
    proto: str
    """``""`` when the rule names no protocol (every protocol)."""
    host: str
    ports: str
    """One part of a port list: ``22``, ``1000-2000`` or ``*``."""


@dataclass(frozen=True)
class PolicyDiff:
    rules_added: int
    rules_removed: int
    now_reach: tuple[str, ...]
    """Grants that are new in the rules but were already given by another rule."""
    no_longer_reach: tuple[str, ...]
    widenings: tuple[str, ...]
    """Sentences for every grant the old policy did not already give."""
    tests_added: tuple[str, ...]
    tests_removed: tuple[str, ...]
    other_sections: tuple[str, ...]


def who(selector: str) -> str:
    """A selector as a reviewer says it: ``tag:relaymd-worker`` → ``workers``."""
    if selector == "*":
        return "anyone"
    if selector.startswith("tag:"):
        role = selector.removeprefix("tag:")
        for suffix, words in (
            ("worker", "workers"),
            ("relay", "relays"),
            ("orchestrator", "the orchestrator"),
        ):
            if role.endswith(suffix):
                return words
        return f"devices tagged {selector}"
    try:
        network = ipaddress.ip_network(selector, strict=False)
    except ValueError:
        return selector  # a user, a group or an autogroup reads best as written
    return str(network.network_address) if network.num_addresses == 1 else f"the network {network}"


def _ports(atom: Atom) -> str:
    port = "every port" if atom.ports == "*" else atom.ports
    if not atom.proto:
        return f"port {port} (any protocol)" if atom.ports != "*" else "every port and protocol"
    return f"{atom.proto} on every port" if atom.ports == "*" else f"{atom.proto}/{port}"


def _split(entry: str) -> tuple[str, str]:
    host, _, ports = entry.rpartition(":")
    return (host, ports) if host else (entry, "*")


def atoms(policy: Mapping[str, Any] | None) -> set[Atom]:
    found = set()
    for rule in _list(policy, "acls"):
        if not isinstance(rule, Mapping) or rule.get("action", "accept") != "accept":
            continue
        proto = str(rule.get("proto") or "")
        for src in rule.get("src", []):
            for entry in rule.get("dst", []):
                host, ports = _split(str(entry))
                for part in ports.split(","):
                    found.add(Atom(str(src), proto, host, part))
    return found


def _list(policy: Mapping[str, Any] | None, key: str) -> list[Any]:
    value = (policy or {}).get(key)
    return value if isinstance(value, list) else []


def _range(ports: str) -> tuple[int, int]:
    if ports == "*":
        return (0, 65535)
    low, _, high = ports.partition("-")
    return (int(low), int(high or low))


def _host_covers(old: str, new: str) -> bool:
    if old in ("*", new):
        return True
    try:
        return ipaddress.ip_network(new, strict=False).subnet_of(
            ipaddress.ip_network(old, strict=False)  # type: ignore[arg-type]
        )
    except (ValueError, TypeError):
        return False  # tags and users cover only themselves


def covered(atom: Atom, grants: Iterable[Atom]) -> bool:
    """Does an existing grant already allow everything ``atom`` allows?"""
    for old in grants:
        if old.src not in ("*", atom.src) or (old.proto and old.proto != atom.proto):
            continue
        if not _host_covers(old.host, atom.host):
            continue
        (old_low, old_high), (low, high) = _range(old.ports), _range(atom.ports)
        if old_low <= low and high <= old_high:
            return True
    return False


def _sentences(changed: Iterable[Atom], verb: str) -> tuple[str, ...]:
    """One sentence per group of sources that gain (or lose) the same destinations."""
    destinations: dict[str, list[str]] = {}
    for atom in sorted(changed, key=lambda a: (a.src, who(a.host), a.host, a.proto, a.ports)):
        destinations.setdefault(atom.src, []).append(f"{who(atom.host)} on {_ports(atom)}")
    by_targets: dict[tuple[str, ...], list[str]] = {}
    for src, targets in destinations.items():
        by_targets.setdefault(tuple(targets), []).append(who(src))
    return tuple(
        sorted(
            f"{joined(sources)} {verb} {joined(targets)}" for targets, sources in by_targets.items()
        )
    )


def _rule_keys(policy: Mapping[str, Any] | None) -> set[str]:
    return {json.dumps(rule, sort_keys=True) for rule in _list(policy, "acls")}


def _test_lines(policy: Mapping[str, Any] | None) -> set[str]:
    lines = set()
    for test in _list(policy, "tests"):
        if not isinstance(test, Mapping):
            continue
        src = str(test.get("src"))
        for verdict, verb in (("accept", "may reach"), ("deny", "may not reach")):
            for dst in test.get(verdict, []):
                host, ports = _split(str(dst))
                lines.add(f"{_named(src)} {verb} {who(host)} on port {ports}")
    return lines


def _named(selector: str) -> str:
    words = who(selector)
    return words if words == selector else f"{words} ({selector})"


def _owner_grants(policy: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    owners = (policy or {}).get("tagOwners")
    if not isinstance(owners, Mapping):
        return set()
    return {(str(tag), str(owner)) for tag, names in owners.items() for owner in names}


def _route_grants(policy: Mapping[str, Any] | None) -> set[tuple[str, str]]:
    approvers = (policy or {}).get("autoApprovers")
    routes = approvers.get("routes") if isinstance(approvers, Mapping) else None
    if not isinstance(routes, Mapping):
        return set()
    return {(str(route), str(who_)) for route, names in routes.items() for who_ in names}


def diff_policy(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> PolicyDiff:
    old_atoms, new_atoms = atoms(base), atoms(head)
    gained, lost = new_atoms - old_atoms, old_atoms - new_atoms
    opened = {atom for atom in gained if not covered(atom, old_atoms)}
    widenings = list(_sentences(opened, "may now reach"))
    widenings += [
        f"{who(owner)} may now mint keys for {tag}"
        for tag, owner in sorted(_owner_grants(head) - _owner_grants(base))
    ]
    widenings += [
        f"{who(approver)} may now advertise {route} without approval"
        for route, approver in sorted(_route_grants(head) - _route_grants(base))
    ]
    narrowings = [
        f"{who(owner)} may no longer mint keys for {tag}"
        for tag, owner in sorted(_owner_grants(base) - _owner_grants(head))
    ] + [
        f"{who(approver)} may no longer advertise {route} without approval"
        for route, approver in sorted(_route_grants(base) - _route_grants(head))
    ]
    old_rules, new_rules = _rule_keys(base), _rule_keys(head)
    old_tests, new_tests = _test_lines(base), _test_lines(head)
    other = sorted(
        key
        for key in ({*(base or {})} | {*(head or {})}) - set(ACL_KEYS)
        if (base or {}).get(key) != (head or {}).get(key)
    )
    return PolicyDiff(
        rules_added=len(new_rules - old_rules),
        rules_removed=len(old_rules - new_rules),
        now_reach=_sentences(gained - opened, "may now reach"),
        no_longer_reach=_sentences(lost, "may no longer reach") + tuple(narrowings),
        widenings=tuple(widenings),
        tests_added=tuple(sorted(new_tests - old_tests)),
        tests_removed=tuple(sorted(old_tests - new_tests)),
        other_sections=tuple(other),
    )
