"""What the testinfra suite checks, and where: the inventory (pure, no I/O).

An inventory names each host the suite reaches (as a testinfra host spec such as
``ssh://admin@10.100.10.2`` or ``local://``) and what it must find there. It is built
from a stack's rendered artifacts (see :mod:`infra.verify.artifacts`) or read from a
JSON file whose format docs/verifying.md documents; both end up as :class:`Inventory`.

Every host reached over SSH is checked against a pinned host key: the orchestrator's from
the stack's settings, a relay's from the stack outputs, a test node's from the inventory
file (or, without one there, the tester's own known_hosts). Nothing is trusted on first use.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

from infra.ground.errors import RefusedError
from infra.ground.fields import is_ssh_public_key
from infra.ground.relaymd import ORCHESTRATOR_PORT
from infra.verify.policy import Policy, PolicyError, read_policy

DEFAULT_BUDGET_SECONDS = 20.0
"""How long eventually-consistent checks retry before they fail."""
DEFAULT_PROBE_TIMEOUT_SECONDS = 3.0
"""A TCP probe unanswered for this long counts as filtered (the ACL drops silently)."""
INFISICAL_RELAY_PORTS = (8443, 2222)
"""What nixos/infisical-relay.nix opens when a relay enables it."""
HEALTHZ_TIMEOUT_SECONDS = 15.0
"""RelayMD runs ``tailscale status --json`` up to twice per request, 5 s each."""
HOSTNAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
"""A tailnet hostname: it names the host in every line and pins its SSH host key."""


class InventoryError(RefusedError):
    """A field of the inventory is missing or malformed; the message names it and the fix."""


@dataclass(frozen=True)
class Node:
    """One host the suite logs into (testinfra spec) and what the tailnet calls it."""

    host: str
    hostname: str
    tag: str
    tailscale_socket: str | None = None
    """``--socket`` for the tailscale CLI: set it for a userspace-mode tailscaled."""
    tailnet_ip: str | None = None
    """Known up front, or read from the node's own ``tailscale status --json``."""
    ssh_host_key: str | None = None
    """The OpenSSH public key line its sshd presents; every connection checks it."""


@dataclass(frozen=True)
class Orchestrator(Node):
    dns_name: str = ""
    port: int = ORCHESTRATOR_PORT
    unit: str = "podman-relaymd-orchestrator"
    lan_address: str = ""
    key_ephemeral: bool = False
    """Whether the auth key the node joined with was ephemeral (from plan.json)."""


@dataclass(frozen=True)
class Relay(Node):
    internal_domain: str = "internal"
    infisical_relay: bool = False


@dataclass(frozen=True)
class Inventory:
    stack: str
    orchestrator: Orchestrator
    relays: tuple[Relay, ...] = ()
    workers: tuple[Node, ...] = ()
    """Worker-tagged test nodes: the first one probes, the others are probed."""
    policy: Mapping[str, Any] = field(default_factory=dict)
    """The rendered tailnet policy document: what may reach what, and what its tests deny."""
    lan_probe: str = "local://"
    """The host the LAN-side checks run from (a machine on the orchestrator's LAN)."""
    lan_probe_host_key: str | None = None
    ssh_config: str | None = None
    sudo: bool = False
    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    probe_timeout_seconds: float = DEFAULT_PROBE_TIMEOUT_SECONDS
    healthz_timeout_seconds: float = HEALTHZ_TIMEOUT_SECONDS
    infisical_relay_ports: tuple[int, ...] = INFISICAL_RELAY_PORTS
    relay_unit: str = "infisical-relay"

    def nodes(self) -> tuple[Node, ...]:
        return (self.orchestrator, *self.relays, *self.workers)

    @cached_property
    def tailnet_policy(self) -> Policy:
        return read_policy(self.policy)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"


def _field(document: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in document:
        raise InventoryError(f"{where}.{name}: missing; add it to the inventory file")
    value = document[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InventoryError(f"{where}.{name}: got {value!r}; expected a {kind.__name__}")
    # Every number here is a duration: NaN or infinity would wait forever or never.
    if isinstance(value, float) and not (math.isfinite(value) and value > 0):
        raise InventoryError(
            f"{where}.{name}: got {value!r}; expected a positive number of seconds"
        )
    return value


def _optional(document: Mapping[str, Any], name: str, kind: type, where: str, default: Any) -> Any:
    if document.get(name) is None:
        return default
    return _field(document, name, kind, where)


_NODE_FIELDS: dict[str, type] = {
    "host": str,
    "hostname": str,
    "tag": str,
}
_NODE_OPTIONAL: dict[str, type] = {"tailscale_socket": str, "tailnet_ip": str, "ssh_host_key": str}
_ORCHESTRATOR_OPTIONAL: dict[str, type] = {
    "dns_name": str,
    "port": int,
    "unit": str,
    "lan_address": str,
    "key_ephemeral": bool,
}
_RELAY_OPTIONAL: dict[str, type] = {"internal_domain": str, "infisical_relay": bool}


def _node_values(document: object, where: str, optional: Mapping[str, type]) -> dict[str, Any]:
    if not isinstance(document, Mapping):
        raise InventoryError(f"{where}: got {document!r}; expected an object")
    known = {*_NODE_FIELDS, *_NODE_OPTIONAL, *optional}
    unknown = sorted(set(document) - known)
    if unknown:
        raise InventoryError(
            f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    values = {name: _field(document, name, kind, where) for name, kind in _NODE_FIELDS.items()}
    for name, kind in {**_NODE_OPTIONAL, **optional}.items():
        if document.get(name) is not None:
            values[name] = _field(document, name, kind, where)
    if not HOSTNAME.fullmatch(values["hostname"]):
        raise InventoryError(
            f"{where}.hostname: got {values['hostname']!r:.80}; expected a host name "
            "(letters, digits, '.' and '-')"
        )
    _check_host_key(values.get("ssh_host_key"), f"{where}.ssh_host_key")
    return values


def _check_host_key(key: str | None, where: str) -> None:
    if key is not None and not is_ssh_public_key(key):
        raise InventoryError(
            f"{where}: got {key!r:.60}; expected an OpenSSH public key line "
            "such as 'ssh-ed25519 AAAA...', as in the host's /etc/ssh/ssh_host_ed25519_key.pub"
        )


def _list(document: Mapping[str, Any], name: str) -> Sequence[Any]:
    value = document.get(name, [])
    if not isinstance(value, list):
        raise InventoryError(f"{name}: got {value!r}; expected a list")
    return value


def _ports(document: Mapping[str, Any], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    ports = tuple(_list(document, name)) or default
    if not all(isinstance(port, int) and not isinstance(port, bool) for port in ports):
        raise InventoryError(f"{name}: got {list(ports)!r}; expected a list of port numbers")
    return ports


TOP_LEVEL_FIELDS = frozenset(
    {
        "stack",
        "orchestrator",
        "relays",
        "workers",
        "policy",
        "lan_probe",
        "lan_probe_host_key",
        "ssh_config",
        "sudo",
        "budget_seconds",
        "probe_timeout_seconds",
        "healthz_timeout_seconds",
        "infisical_relay_ports",
        "relay_unit",
    }
)


def inventory_from_document(document: object) -> Inventory:
    """Validate a parsed inventory file; errors name the field and what it should hold."""
    if not isinstance(document, Mapping):
        raise InventoryError("the inventory must be a JSON object")
    unknown = sorted(set(document) - TOP_LEVEL_FIELDS)
    if unknown:
        raise InventoryError(
            f"unknown top-level field(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(TOP_LEVEL_FIELDS))}"
        )
    inventory = Inventory(
        stack=_field(document, "stack", str, "inventory"),
        orchestrator=Orchestrator(
            **_node_values(document.get("orchestrator"), "orchestrator", _ORCHESTRATOR_OPTIONAL)
        ),
        relays=tuple(
            Relay(**_node_values(relay, f"relays[{index}]", _RELAY_OPTIONAL))
            for index, relay in enumerate(_list(document, "relays"))
        ),
        workers=tuple(
            Node(**_node_values(worker, f"workers[{index}]", {}))
            for index, worker in enumerate(_list(document, "workers"))
        ),
        policy=_policy(document),
        lan_probe=_optional(document, "lan_probe", str, "inventory", "local://"),
        lan_probe_host_key=_optional(document, "lan_probe_host_key", str, "inventory", None),
        ssh_config=_optional(document, "ssh_config", str, "inventory", None),
        sudo=_optional(document, "sudo", bool, "inventory", False),
        budget_seconds=_optional(
            document, "budget_seconds", float, "inventory", DEFAULT_BUDGET_SECONDS
        ),
        probe_timeout_seconds=_optional(
            document, "probe_timeout_seconds", float, "inventory", DEFAULT_PROBE_TIMEOUT_SECONDS
        ),
        healthz_timeout_seconds=_optional(
            document, "healthz_timeout_seconds", float, "inventory", HEALTHZ_TIMEOUT_SECONDS
        ),
        infisical_relay_ports=_ports(document, "infisical_relay_ports", INFISICAL_RELAY_PORTS),
        relay_unit=_optional(document, "relay_unit", str, "inventory", "infisical-relay"),
    )
    _check_unique_hostnames(inventory)
    _check_host_key(inventory.lan_probe_host_key, "inventory.lan_probe_host_key")
    _check_stack_hosts_pinned(inventory)
    return inventory


REMOTE_BACKENDS = ("ssh://", "paramiko://", "safe-ssh://")
"""testinfra backends that log into another machine: its host key must be pinned."""


def reached_over_ssh(spec: str) -> bool:
    return spec.startswith(REMOTE_BACKENDS)


def _check_stack_hosts_pinned(inventory: Inventory) -> None:
    """The stack's own hosts have known keys; verify never trusts one on first use."""
    if reached_over_ssh(inventory.orchestrator.host) and not inventory.orchestrator.ssh_host_key:
        raise InventoryError(
            "orchestrator.ssh_host_key: missing; the render's plan.json carries the pinned key "
            "(orchestrator.ssh_host_key in the stack settings), or give it in --inventory"
        )
    for index, relay in enumerate(inventory.relays):
        if reached_over_ssh(relay.host) and not relay.ssh_host_key:
            raise InventoryError(
                f"relays[{index}].ssh_host_key: missing for {relay.hostname}; the stack exports "
                "every relay's host key as RELAYMD_SSH_HOST_KEYS once `pulumi up` created it "
                "(pulumi stack output), or give it in --inventory; verify never trusts a key "
                "on first use"
            )


def _policy(document: Mapping[str, Any]) -> dict[str, Any]:
    policy = document.get("policy")
    if policy is None:
        raise InventoryError(
            "policy: missing; render the stack (scripts/plan --stack NAME) so verify reads "
            "tailscale/policy.hujson, or give the rendered policy document in the inventory"
        )
    if not isinstance(policy, Mapping):
        raise InventoryError("policy: expected the rendered policy document (an object)")
    try:
        read_policy(policy)  # refused here, with the field named, rather than mid-run
    except PolicyError as error:
        raise InventoryError(f"policy.{error}") from None
    return dict(policy)


def _check_unique_hostnames(inventory: Inventory) -> None:
    names = [node.hostname for node in inventory.nodes()]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InventoryError(f"hostname(s) {', '.join(duplicates)} appear more than once")


def overlay(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``: objects merge key by key, relays by hostname, the rest replace."""
    merged = dict(base)
    for key, value in extra.items():
        if key == "relays" and isinstance(value, list) and isinstance(base.get(key), list):
            merged[key] = _overlay_by_hostname(base[key], value)
        elif isinstance(value, Mapping) and isinstance(base.get(key), Mapping):
            merged[key] = overlay(base[key], value)
        else:
            merged[key] = value
    return merged


def _overlay_by_hostname(base: list[Any], extra: list[Any]) -> list[Any]:
    result = [dict(item) for item in base]
    positions = {item.get("hostname"): index for index, item in enumerate(result)}
    for item in extra:
        index = positions.get(item.get("hostname")) if isinstance(item, Mapping) else None
        if index is None:
            result.append(item)
        else:
            result[index] = overlay(result[index], item)
    return result
