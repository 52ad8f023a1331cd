"""The checks of one inventory, in the order a tester reads them (known before any host is
reached: the pytest items are made from this list).

Blocks, each in its own order:
- SSH: every host, once, up front (a host that cannot be reached is its own finding);
- the orchestrator: tailscaled, ephemerality, RelayMD's unit, its view of every worker and
  relay, then what the policy's tests deny it;
- each relay: tailscaled, dnsmasq, the Infisical Relay, then what the tests deny relays;
- the probing worker (``workers[0]``): tailscaled (it must prove it is a worker before any
  of its results count), MagicDNS, /healthz over IPv4 and IPv6, what the tests deny workers,
  and the sweep of every other host's listening sockets; the other workers: tailscaled;
- the LAN probe: its own path to the orchestrator's SSH port, then the API port.

For each (prober, target) pair the tests deny something to, one live-path control comes
first, then one line per denied port and protocol, ICMP where the policy opens nothing from
the prober to the target, and (for the worker) the sweep.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from infra.verify.inventory import Inventory, Node
from infra.verify.policy import Denial, Party, is_address
from tests.infra import checks
from tests.infra.engine import LAN_PROBE, Check, Context, Engine, SkippedError

DNS_PORT = checks.DNS_PORT


def skipped(skip_id: str, reason: str) -> Callable[[Context], str]:
    def judge(context: Context) -> str:
        raise SkippedError(skip_id, reason)

    return judge


def check(
    group: str,
    slug: str,
    title: str,
    judge: Callable[[Context], str],
    *,
    prober: str | None = None,
    target: str = "",
    specs: Callable[[Engine], Any] | None = None,
    **flags: bool,
) -> Check:
    """A check of ``group``'s block, run on ``prober`` (the group's host unless said), whose
    id is ``<group>-<slug>``."""
    return Check(
        id=f"{group}-{slug}".replace(" ", "-").lower(),
        group=group,
        title=title,
        prober=prober or group,
        target=target,
        judge=judge,
        specs=specs,
        **flags,
    )


def _ssh(inventory: Inventory) -> list[Check]:
    return [
        check(
            "SSH",
            label,
            f"{label} reachable",
            partial(checks.reachable, label=label),
            prober=label,
            ssh=True,
        )
        for label in [*(node.hostname for node in inventory.nodes()), LAN_PROBE]
    ]


def _tailscaled(node: Node) -> Check:
    name = node.hostname
    return check(name, "tailscaled", f"{name}: tailscaled", partial(checks.tailscaled, node=node))


def _ports(denials: Sequence[Denial]) -> list[tuple[int, str]]:
    """(port, protocol) pairs to probe: TCP always, DNS over UDP on 53 (other UDP: a skip)."""
    pairs: list[tuple[int, str]] = []
    for denial in denials:
        if "tcp" in denial.protocols:
            pairs.append((denial.port, "tcp"))
        if "udp" in denial.protocols and (denial.port == DNS_PORT or "tcp" not in denial.protocols):
            pairs.append((denial.port, "udp"))
    return sorted(set(pairs))


def _denial_checks(inventory: Inventory, prober: Node, sweep: bool) -> list[Check]:
    """What the policy's tests deny the prober's tag, checked from ``prober``."""
    policy = inventory.tailnet_policy
    group = prober.hostname
    by_target: dict[str, list[Denial]] = {}
    routes: dict[str, list[int]] = {}
    for denial in policy.denials:
        if denial.source != prober.tag:
            continue
        address = policy.hosts.get(denial.destination, denial.destination)
        if is_address(address):
            routes.setdefault(address, []).append(denial.port)
        else:
            by_target.setdefault(denial.destination, []).append(denial)
    found: list[Check] = []
    for selector, selected in by_target.items():
        targets = [
            node
            for node in inventory.nodes()
            if node != prober and policy.covers(selector, Party((node.tag,)))
        ]
        if not targets:
            listed = ", ".join(str(denial.port) for denial in selected)
            reason = (
                f"the tests deny {prober.tag} ports {listed} on {selector}, but no node other "
                f"than {group} carries it"
            )
            found.append(
                check(
                    group,
                    f"no-target-{selector}",
                    f"{group} → {selector}",
                    skipped(checks.NO_TARGET, reason),
                    target=selector,
                )
            )
        for target in targets:
            found += _pair(inventory, prober, target, selected, sweep)
    for address, ports in routes.items():
        found.append(
            check(
                group,
                f"route-{address}",
                f"{group} → {address} (behind a subnet router)",
                partial(checks.no_route, prober=prober, address=address, ports=ports),
                target=address,
                retry=True,
            )
        )
    return found


def _pair(
    inventory: Inventory, prober: Node, target: Node, denials: Sequence[Denial], sweep: bool
) -> list[Check]:
    group, name = prober.hostname, f"{prober.hostname} → {target.hostname}"
    to = f"to-{target.hostname}"
    policy = inventory.tailnet_policy
    if not policy.peers(Party((prober.tag,)), Party((target.tag,))):
        ports = _ports(denials)
        return [
            check(
                group,
                f"{to}-no-path",
                f"{name}: no path either way",
                partial(checks.no_path, prober=prober, target=target, ports=ports, sweep=sweep),
                target=target.hostname,
                specs=partial(
                    checks.no_path_specs, prober=prober, target=target, ports=ports, sweep=sweep
                ),
                retry=True,
            )
        ]
    found = [
        check(
            group,
            f"{to}-alive",
            f"{name}: live path",
            partial(checks.alive, prober=prober, target=target),
            target=target.hostname,
            specs=partial(checks.alive_specs, prober=prober, target=target),
        )
    ]
    for port, proto in _ports(denials):
        found.append(
            check(
                group,
                f"{to}-{port}-{proto}",
                f"{name}: {port}/{proto} blocked",
                partial(checks.denied, prober=prober, target=target, port=port, proto=proto),
                target=target.hostname,
                specs=partial(
                    checks.deny_specs, prober=prober, target=target, port=port, proto=proto
                ),
                retry=True,
            )
        )
    if not policy.opens_any(Party((prober.tag,)), Party((target.tag,))):
        found.append(
            check(
                group,
                f"{to}-icmp",
                f"{name}: ICMP echo blocked",
                partial(checks.icmp_blocked, prober=prober, target=target),
                target=target.hostname,
                specs=partial(checks.icmp_specs, prober=prober, target=target),
                retry=True,
            )
        )
    if sweep:
        found.append(
            check(
                group,
                f"{to}-listening",
                f"{name}: only ports the policy opens answer",
                partial(checks.sweep, prober=prober, target=target),
                target=target.hostname,
                specs=partial(checks.sweep_specs, prober=prober, target=target),
                retry=True,
            )
        )
    return found


def _orchestrator(inventory: Inventory) -> list[Check]:
    node = inventory.orchestrator
    group = node.hostname
    found = [
        _tailscaled(node),
        check(group, "not-ephemeral", f"{group}: not ephemeral", checks.not_ephemeral),
        check(
            group,
            "relaymd-unit",
            f"{group}: RelayMD",
            partial(checks.unit_active, node=node, unit=node.unit),
        ),
    ]
    found += [
        check(
            group,
            f"view-{other.hostname}",
            f"{group} sees {other.hostname}",
            partial(checks.view, node=other),
            target=other.hostname,
            retry=True,
        )
        for other in (*inventory.relays, *inventory.workers)
    ]
    return found + _denial_checks(inventory, node, sweep=False)


def _relays(inventory: Inventory) -> list[Check]:
    found: list[Check] = []
    for relay in inventory.relays:
        group = relay.hostname
        found += [
            _tailscaled(relay),
            check(
                group,
                "dnsmasq",
                f"{group}: dnsmasq",
                partial(checks.dnsmasq, relay=relay),
                specs=partial(checks.dnsmasq_specs, relay=relay),
                retry=True,
            ),
            check(
                group,
                "infisical-relay",
                f"{group}: Infisical Relay",
                partial(checks.infisical_relay, relay=relay),
            ),
            *_denial_checks(inventory, relay, sweep=False),
        ]
    return found


NO_WORKER_CHECKS = (
    ("magicdns", "MagicDNS"),
    ("healthz", "/healthz"),
    ("denied", "what the policy denies workers"),
    ("listening", "only the ports the policy opens answer"),
)


def _workers(inventory: Inventory) -> list[Check]:
    if not inventory.workers:
        reason = (
            "the inventory names no worker-tagged test node (workers[0]): nothing is checked "
            "from a worker's side; add one (docs/verifying.md)"
        )
        return [
            check("workers", slug, f"worker: {title}", skipped(checks.NO_WORKER, reason))
            for slug, title in NO_WORKER_CHECKS
        ]
    prober = inventory.workers[0]
    group, orchestrator = prober.hostname, inventory.orchestrator.hostname
    return [
        _tailscaled(prober),
        check(
            group,
            "magicdns",
            f"{group}: MagicDNS",
            partial(checks.magicdns, prober=prober),
            target=orchestrator,
            specs=checks.magicdns_specs,
            retry=True,
        ),
        check(
            group,
            "healthz",
            f"{group} → {orchestrator}: /healthz by name (IPv4)",
            partial(checks.healthz, prober=prober),
            target=orchestrator,
            specs=checks.healthz_specs,
            retry=True,
        ),
        check(
            group,
            "healthz-ipv6",
            f"{group} → {orchestrator}: /healthz over IPv6",
            partial(checks.healthz_ipv6, prober=prober),
            target=orchestrator,
            specs=checks.healthz_ipv6_specs,
            retry=True,
        ),
        *_denial_checks(inventory, prober, sweep=True),
        *(_tailscaled(other) for other in inventory.workers[1:]),
    ]


def _lan(inventory: Inventory) -> list[Check]:
    target = inventory.orchestrator.hostname
    return [
        check(
            LAN_PROBE,
            "path",
            f"LAN probe → {target}: its own path (SSH port)",
            checks.lan_path,
            prober=LAN_PROBE,
            target=target,
            specs=checks.lan_specs,
        ),
        check(
            LAN_PROBE,
            "api-closed",
            f"LAN probe → {target}: API port closed on the LAN",
            checks.api_closed_on_lan,
            prober=LAN_PROBE,
            target=target,
            specs=checks.lan_specs,
        ),
    ]


def plan(inventory: Inventory) -> list[Check]:
    return [
        *_ssh(inventory),
        *_orchestrator(inventory),
        *_relays(inventory),
        *_workers(inventory),
        *_lan(inventory),
    ]


def run(engine: Engine, selected: Sequence[str] | None = None) -> dict[str, Check]:
    """Start ``engine`` on the plan (or the ``selected`` ids of it); the checks by id."""
    planned = {item.id: item for item in plan(engine.inventory)}
    chosen = (
        [planned[item] for item in selected] if selected is not None else list(planned.values())
    )
    engine.start(chosen)
    return planned
