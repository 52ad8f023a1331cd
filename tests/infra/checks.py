"""The checks, as functions: the tests call them, and so do the negative runs that
break the namespaced topology one property at a time and expect a specific failure.

Each takes testinfra hosts (``host.run``) and the inventory, and raises
:class:`CheckFailedError` naming what is wrong. Checks of state that converges (a node
coming up, a policy reaching every node) retry within ``inventory.budget_seconds``.
"""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

from infra.verify.healthz import Expected, judge
from infra.verify.inventory import (
    HEALTHZ_TIMEOUT_SECONDS,
    DeniedProbe,
    Inventory,
    Node,
    Relay,
)

PROBE_SOURCE = (Path(__file__).resolve().parent / "probe.py").read_text()
NOT_REACHED = {"filtered", "unreachable"}
"""Verdicts of a denied destination: dropped silently, or never routed there."""
DNS_ANSWERED = {"rcode:0", "rcode:3"}
"""NOERROR or NXDOMAIN: the server answers for the domain (REFUSED/SERVFAIL do not)."""
_T = TypeVar("_T")


class CheckFailedError(AssertionError):
    """A check's verdict, in one line."""


class Result(Protocol):
    rc: int
    stdout: str
    stderr: str


class Host(Protocol):
    def run(self, command: str, *args: str) -> Any: ...


def eventually(budget: float, check: Callable[[], _T], pause: float = 0.5) -> _T:
    """``check()`` until it stops raising CheckFailedError, for at most ``budget`` seconds."""
    deadline = time.monotonic() + budget
    while True:
        try:
            return check()
        except CheckFailedError:
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)


def _run(host: Host, command: str) -> Result:
    result: Result = host.run(command)
    return result


# -- tailscaled, through its CLI ---------------------------------------------------


def tailscale_status(host: Host, node: Node) -> dict[str, Any]:
    socket = f" --socket={shlex.quote(node.tailscale_socket)}" if node.tailscale_socket else ""
    result = _run(host, f"tailscale{socket} status --json")
    if result.rc != 0:
        raise CheckFailedError(f"{node.hostname}: tailscale status failed: {result.stderr.strip()}")
    try:
        status: dict[str, Any] = json.loads(result.stdout)
    except ValueError:
        raise CheckFailedError(f"{node.hostname}: tailscale status printed no JSON") from None
    return status


def tailnet_ip(host: Host, node: Node) -> str:
    if node.tailnet_ip:
        return node.tailnet_ip
    addresses = (tailscale_status(host, node).get("Self") or {}).get("TailscaleIPs") or []
    ipv4 = [address for address in addresses if ":" not in address]
    if not ipv4:
        raise CheckFailedError(f"{node.hostname}: tailscale status reports no tailnet IPv4 address")
    return str(ipv4[0])


def tailnet_ipv6(host: Host, node: Node) -> str | None:
    """The node's tailnet IPv6 address from ``tailscale status`` (None: it reports none)."""
    addresses = (tailscale_status(host, node).get("Self") or {}).get("TailscaleIPs") or []
    ipv6 = [address for address in addresses if ":" in address]
    return str(ipv6[0]) if ipv6 else None


def unit_active(host: Host, node_name: str, unit: str) -> None:
    result = _run(host, f"systemctl is-active {shlex.quote(unit)}")
    state = result.stdout.strip() or result.stderr.strip()
    if result.rc != 0 or state != "active":
        raise CheckFailedError(f"{node_name}: unit {unit} is {state!r}, expected 'active'")


def unit_inactive(host: Host, node_name: str, unit: str) -> None:
    result = _run(host, f"systemctl is-active {shlex.quote(unit)}")
    if result.rc == 0:
        raise CheckFailedError(f"{node_name}: unit {unit} is active, but it is not enabled")


def check_tailscaled(host: Host, node: Node, budget: float) -> dict[str, Any]:
    """tailscaled's unit is active, the node is Running and carries its tag."""

    def once() -> dict[str, Any]:
        unit_active(host, node.hostname, "tailscaled")
        status = tailscale_status(host, node)
        state = status.get("BackendState")
        if state != "Running":
            raise CheckFailedError(
                f"{node.hostname}: BackendState is {state!r}, expected 'Running'"
            )
        tags = (status.get("Self") or {}).get("Tags") or []
        if node.tag not in tags:
            raise CheckFailedError(f"{node.hostname}: node tags are {tags}, expected {node.tag}")
        return status

    return eventually(budget, once)


def check_not_ephemeral(host: Host, inventory: Inventory) -> None:
    """The node joined with a non-ephemeral key and tailscaled keeps state on disk.

    ``tailscale status`` does not say whether a node is ephemeral; a node is when its
    auth key was (plan.json), or when tailscaled runs with ``--state=mem:``
    (tailscale v1.84.3 cmd/tailscaled/tailscaled.go registers such a node as ephemeral).
    """
    node = inventory.orchestrator
    if node.key_ephemeral:
        raise CheckFailedError(f"{node.hostname}: its auth key is ephemeral (plan.json)")
    pid = _run(host, "systemctl show -p MainPID --value tailscaled").stdout.strip()
    if not pid.isdigit() or pid == "0":
        raise CheckFailedError(f"{node.hostname}: tailscaled has no main process")
    command_line = _run(host, f"tr '\\0' ' ' < /proc/{pid}/cmdline").stdout
    if "--state=mem:" in command_line:
        raise CheckFailedError(
            f"{node.hostname}: tailscaled runs with --state=mem: (ephemeral node)"
        )


# -- from a worker -----------------------------------------------------------------


def probe(host: Host, timeout: float, probes: Sequence[str]) -> dict[str, str]:
    command = " ".join(
        ["python3", "-c", shlex.quote(PROBE_SOURCE), str(timeout), *map(shlex.quote, probes)]
    )
    result = _run(host, command)
    if result.rc != 0:
        raise CheckFailedError(f"probe did not run: {result.stderr.strip()[-300:]}")
    verdicts: dict[str, str] = json.loads(result.stdout)
    return verdicts


def resolve(host: Host, name: str) -> list[str]:
    result = _run(host, f"getent ahostsv4 {shlex.quote(name)}")
    return sorted({line.split()[0] for line in result.stdout.splitlines() if line.strip()})


def check_magicdns(worker: Host, inventory: Inventory, orchestrator_ip: str) -> str:
    """The address a worker reaches the orchestrator at: the MagicDNS answer, or its IP.

    Returns "magicdns" or "fallback". A name that resolves elsewhere fails: that is what
    a stale node holding the name looks like.
    """
    name = inventory.orchestrator.dns_name
    addresses = resolve(worker, name)
    if not addresses:
        return "fallback"
    if orchestrator_ip not in addresses:
        raise CheckFailedError(
            f"MagicDNS name {name} resolves to {', '.join(addresses)}, "
            f"not the orchestrator's {orchestrator_ip}"
        )
    return "magicdns"


def fetch_healthz(
    worker: Host, inventory: Inventory, orchestrator_ip: str, via: str
) -> tuple[int, str]:
    """GET /healthz from the worker with curl; ``--resolve`` pins the IP when DNS fails."""
    node = inventory.orchestrator
    url = f"http://{node.dns_name}:{node.port}/healthz"
    pin = f" --resolve {shlex.quote(f'{node.dns_name}:{node.port}:{orchestrator_ip}')}"
    return _get_healthz(worker, url, pin if via == "fallback" else "")


def _get_healthz(worker: Host, url: str, options: str = "") -> tuple[int, str]:
    # --noproxy: a proxy from the node's environment would carry the request off the tailnet.
    command = (
        f"curl -sS --noproxy '*' --max-time {HEALTHZ_TIMEOUT_SECONDS:g}"
        f"{options} -w '\\n%{{http_code}}' {shlex.quote(url)}"
    )
    result = _run(worker, command)
    if result.rc != 0:
        raise CheckFailedError(
            f"GET {url} failed: {result.stderr.strip() or f'curl exit {result.rc}'}"
        )
    body, _, code = result.stdout.rpartition("\n")
    return int(code), body


def check_healthz(worker: Host, inventory: Inventory, orchestrator_ip: str, via: str) -> str:
    node = inventory.orchestrator
    expected = Expected(hostname=node.hostname, dns_name=node.dns_name)

    def once() -> str:
        status, body = fetch_healthz(worker, inventory, orchestrator_ip, via)
        verdict = judge(status, body, expected)
        if not verdict.healthy:
            raise CheckFailedError(f"/healthz: {verdict.reason}")
        return verdict.reason

    return eventually(inventory.budget_seconds, once)


def check_healthz_ipv6(worker: Host, inventory: Inventory, orchestrator_ipv6: str) -> str:
    """/healthz on the orchestrator's tailnet IPv6 address (its forwarding socket)."""
    node = inventory.orchestrator
    expected = Expected(hostname=node.hostname, dns_name=node.dns_name)

    def once() -> str:
        status, body = _get_healthz(worker, f"http://[{orchestrator_ipv6}]:{node.port}/healthz")
        verdict = judge(status, body, expected)
        if not verdict.healthy:
            raise CheckFailedError(f"/healthz over IPv6: {verdict.reason}")
        return verdict.reason

    return eventually(inventory.budget_seconds, once)


def probe_spec(probe_: DeniedProbe, address: str, internal_domain: str) -> str:
    if probe_.proto == "udp":
        return f"dns:{address}:{internal_domain}"
    return f"tcp:{address}:{probe_.port}"


def denied_specs(
    inventory: Inventory, targets: Mapping[str, str], denied: DeniedProbe
) -> dict[str, str]:
    """Probe spec → hostname, for ``denied`` against every node in ``targets``."""
    domain = inventory.relays[0].internal_domain if inventory.relays else "internal"
    return {probe_spec(denied, address, domain): name for name, address in targets.items()}


def check_filtered(
    worker: Host,
    inventory: Inventory,
    targets: Mapping[str, str],
    denied: DeniedProbe,
    first_verdicts: Mapping[str, str] | None = None,
) -> None:
    """Every node in ``targets`` (hostname → tailnet IP) drops ``denied`` from the worker.

    A RST ("refused") fails too: the packet got through the policy, only nothing listens.
    ``first_verdicts`` are results of a batch probe already run, used for the first round.
    """
    if not targets:
        raise CheckFailedError(f"no node carries {denied.tag} to probe")
    specs = denied_specs(inventory, targets, denied)
    earlier = dict(first_verdicts or {})

    def once() -> None:
        if earlier and set(specs) <= set(earlier):
            verdicts = {spec: earlier[spec] for spec in specs}
            earlier.clear()
        else:
            verdicts = probe(worker, inventory.probe_timeout_seconds, list(specs))
        reached = {
            f"{specs[spec]} ({spec})": verdict
            for spec, verdict in verdicts.items()
            if verdict not in NOT_REACHED
        }
        if reached:
            detail = ", ".join(f"{where}: {verdict}" for where, verdict in sorted(reached.items()))
            raise CheckFailedError(f"{denied.label} is not filtered from a worker: {detail}")

    eventually(inventory.budget_seconds, once)


# -- the orchestrator's LAN side ------------------------------------------------------


def check_api_closed_on_lan(lan: Host, inventory: Inventory) -> str:
    node = inventory.orchestrator
    spec = f"tcp:{node.lan_address}:{node.port}"
    verdict = probe(lan, inventory.probe_timeout_seconds, [spec])[spec]
    if verdict == "open":
        raise CheckFailedError(
            f"port {node.port} accepts connections on the LAN at {node.lan_address}"
        )
    if verdict.startswith("error:"):
        raise CheckFailedError(f"LAN probe of {node.lan_address}:{node.port} failed: {verdict}")
    return verdict


# -- relays ----------------------------------------------------------------------------


def check_dnsmasq_answers(host: Host, relay: Relay, address: str, inventory: Inventory) -> None:
    spec = f"dns:{address}:{relay.internal_domain}"

    def once() -> None:
        verdict = probe(host, inventory.probe_timeout_seconds, [spec])[spec]
        if verdict not in DNS_ANSWERED:
            raise CheckFailedError(
                f"{relay.hostname}: dnsmasq does not answer {relay.internal_domain} "
                f"on {address}: {verdict}"
            )

    eventually(inventory.budget_seconds, once)


def listening_ports(host: Host) -> set[int]:
    result = _run(host, "ss -Htln")
    ports = set()
    for line in result.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4:
            ports.add(int(fields[3].rpartition(":")[2]))
    return ports


def check_infisical_relay(host: Host, relay: Relay, inventory: Inventory) -> None:
    """Its unit runs and its ports listen exactly when the relay enables it."""
    listening = listening_ports(host) & set(inventory.infisical_relay_ports)
    if relay.infisical_relay:
        unit_active(host, relay.hostname, inventory.relay_unit)
        missing = sorted(set(inventory.infisical_relay_ports) - listening)
        if missing:
            raise CheckFailedError(
                f"{relay.hostname}: Infisical Relay ports {missing} do not listen"
            )
        return
    unit_inactive(host, relay.hostname, inventory.relay_unit)
    if listening:
        raise CheckFailedError(
            f"{relay.hostname}: ports {sorted(listening)} listen, "
            "but the Infisical Relay is not enabled"
        )
