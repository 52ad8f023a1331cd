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

from infra.verify.inventory import Inventory, Node
from infra.verify.policy import Denial, Party, is_address
from tests.infra import checks
from tests.infra.engine import LAN_PROBE, Check, Context, Engine, SkippedError

DNS_PORT = checks.DNS_PORT


def skipped(skip_id: str, reason: str) -> Callable[[Context], str]:
    def judge(context: Context) -> str:
        raise SkippedError(skip_id, reason)

    return judge


def _ssh(inventory: Inventory) -> list[Check]:
    labels = [node.hostname for node in inventory.nodes()] + [LAN_PROBE]
    return [
        Check(
            id=f"ssh-{label.replace(' ', '-').lower()}",
            group="SSH",
            title=f"{label} reachable",
            prober=label,
            target="",
            judge=partial(checks.reachable, label=label),
            ssh=True,
        )
        for label in labels
    ]


def _node_checks(node: Node) -> list[Check]:
    return [
        Check(
            id=f"{node.hostname}-tailscaled",
            group=node.hostname,
            title=f"{node.hostname}: tailscaled",
            prober=node.hostname,
            target="",
            judge=partial(checks.tailscaled, node=node),
        )
    ]


def _ports(denials: Sequence[Denial]) -> list[tuple[int, str]]:
    """(port, protocol) pairs to probe: TCP always, DNS over UDP on 53 (other UDP: a skip)."""
    pairs: list[tuple[int, str]] = []
    for denial in denials:
        if "tcp" in denial.protocols:
            pairs.append((denial.port, "tcp"))
        if "udp" in denial.protocols and (denial.port == DNS_PORT or "tcp" not in denial.protocols):
            pairs.append((denial.port, "udp"))
    return sorted(set(pairs))


def _denial_checks(inventory: Inventory, prober: Node, tag: str, sweep: bool) -> list[Check]:
    """What the policy's tests deny ``tag``, checked from ``prober``."""
    policy = inventory.tailnet_policy
    denials = [denial for denial in policy.denials if denial.source == tag]
    found: list[Check] = []
    group = prober.hostname
    by_target: dict[str, list[Denial]] = {}
    routes: dict[str, list[int]] = {}
    for denial in denials:
        if denial.destination.startswith("tag:") or not is_address(
            policy.hosts.get(denial.destination, denial.destination)
        ):
            by_target.setdefault(denial.destination, []).append(denial)
        else:
            address = policy.hosts.get(denial.destination, denial.destination)
            routes.setdefault(address, []).append(denial.port)
    for selector, selected in by_target.items():
        targets = [
            node
            for node in inventory.nodes()
            if node != prober and policy.covers(selector, Party((node.tag,)))
        ]
        if not targets:
            found.append(
                Check(
                    id=f"{group}-no-target-{selector}",
                    group=group,
                    title=f"{prober.hostname} → {selector}",
                    prober=prober.hostname,
                    target=selector,
                    judge=skipped(
                        checks.NO_TARGET,
                        f"the tests deny {tag} ports {', '.join(str(d.port) for d in selected)} "
                        f"on {selector}, but no node other than {prober.hostname} carries it",
                    ),
                )
            )
        for target in targets:
            found += _pair(inventory, prober, target, selected, sweep)
    for address, ports in routes.items():
        found.append(
            Check(
                id=f"{group}-route-{address}",
                group=group,
                title=f"{prober.hostname} → {address} (behind a subnet router)",
                prober=prober.hostname,
                target=address,
                judge=partial(checks.no_route, prober=prober, address=address, ports=ports),
                retry=True,
            )
        )
    return found


def _pair(
    inventory: Inventory,
    prober: Node,
    target: Node,
    denials: Sequence[Denial],
    sweep: bool,
) -> list[Check]:
    group, name = prober.hostname, f"{prober.hostname} → {target.hostname}"
    prefix = f"{group}-to-{target.hostname}"
    found = [
        Check(
            id=f"{prefix}-alive",
            group=group,
            title=f"{name}: live path",
            prober=prober.hostname,
            target=target.hostname,
            judge=partial(checks.alive, prober=prober, target=target),
            specs=partial(checks.alive_specs, prober=prober, target=target),
        )
    ]
    for port, proto in _ports(denials):
        found.append(
            Check(
                id=f"{prefix}-{port}-{proto}",
                group=group,
                title=f"{name}: {port}/{proto} blocked",
                prober=prober.hostname,
                target=target.hostname,
                judge=partial(checks.denied, prober=prober, target=target, port=port, proto=proto),
                specs=partial(checks.deny_specs, target=target, port=port, proto=proto),
                retry=True,
            )
        )
    policy = inventory.tailnet_policy
    if not policy.opens_any(Party((prober.tag,)), Party((target.tag,))):
        found.append(
            Check(
                id=f"{prefix}-icmp",
                group=group,
                title=f"{name}: ICMP echo blocked",
                prober=prober.hostname,
                target=target.hostname,
                judge=partial(checks.icmp_blocked, prober=prober, target=target),
                specs=partial(checks.icmp_specs, prober=prober, target=target),
                retry=True,
            )
        )
    if sweep:
        found.append(
            Check(
                id=f"{prefix}-listening",
                group=group,
                title=f"{name}: only ports the policy opens answer",
                prober=prober.hostname,
                target=target.hostname,
                judge=partial(checks.sweep, prober=prober, target=target),
                specs=partial(checks.sweep_specs, prober=prober, target=target),
                retry=True,
            )
        )
    return found


def _orchestrator(inventory: Inventory) -> list[Check]:
    node = inventory.orchestrator
    group = node.hostname
    found = [
        *_node_checks(node),
        Check(
            id=f"{group}-not-ephemeral",
            group=group,
            title=f"{group}: not ephemeral",
            prober=group,
            target="",
            judge=checks.not_ephemeral,
        ),
        Check(
            id=f"{group}-relaymd-unit",
            group=group,
            title=f"{group}: RelayMD",
            prober=group,
            target="",
            judge=partial(checks.unit_active, node=node, unit=node.unit),
        ),
    ]
    for other in (*inventory.relays, *inventory.workers):
        found.append(
            Check(
                id=f"{group}-view-{other.hostname}",
                group=group,
                title=f"{group} sees {other.hostname}",
                prober=group,
                target=other.hostname,
                judge=partial(checks.view, node=other),
                retry=True,
            )
        )
    return found + _denial_checks(inventory, node, node.tag, sweep=False)


def _relays(inventory: Inventory) -> list[Check]:
    found: list[Check] = []
    for relay in inventory.relays:
        group = relay.hostname
        found += _node_checks(relay)
        found += [
            Check(
                id=f"{group}-dnsmasq",
                group=group,
                title=f"{group}: dnsmasq",
                prober=group,
                target="",
                judge=partial(checks.dnsmasq, relay=relay),
                specs=partial(checks.dnsmasq_specs, relay=relay),
                retry=True,
            ),
            Check(
                id=f"{group}-infisical-relay",
                group=group,
                title=f"{group}: Infisical Relay",
                prober=group,
                target="",
                judge=partial(checks.infisical_relay, relay=relay),
            ),
        ]
        found += _denial_checks(inventory, relay, relay.tag, sweep=False)
    return found


def _workers(inventory: Inventory, worker_tag: str | None) -> list[Check]:
    if not inventory.workers:
        reason = (
            "the inventory names no worker-tagged test node (workers[0]): nothing is checked "
            "from a worker's side; add one (docs/verifying.md)"
        )
        return [
            Check(
                id=f"worker-{slug}",
                group="workers",
                title=f"worker: {title}",
                prober="",
                target="",
                judge=skipped(checks.NO_WORKER, reason),
            )
            for slug, title in (
                ("magicdns", "MagicDNS"),
                ("healthz", "/healthz"),
                ("denied", "what the policy denies workers"),
                ("listening", "only the ports the policy opens answer"),
            )
        ]
    prober = inventory.workers[0]
    group = prober.hostname
    found = [
        *_node_checks(prober),
        Check(
            id=f"{group}-magicdns",
            group=group,
            title=f"{group}: MagicDNS",
            prober=group,
            target=inventory.orchestrator.hostname,
            judge=partial(checks.magicdns, prober=prober),
            specs=checks.magicdns_specs,
            retry=True,
        ),
        Check(
            id=f"{group}-healthz",
            group=group,
            title=f"{group} → {inventory.orchestrator.hostname}: /healthz by name (IPv4)",
            prober=group,
            target=inventory.orchestrator.hostname,
            judge=partial(checks.healthz, prober=prober),
            specs=checks.healthz_specs,
            retry=True,
        ),
        Check(
            id=f"{group}-healthz-ipv6",
            group=group,
            title=f"{group} → {inventory.orchestrator.hostname}: /healthz over IPv6",
            prober=group,
            target=inventory.orchestrator.hostname,
            judge=partial(checks.healthz_ipv6, prober=prober),
            specs=checks.healthz_ipv6_specs,
            retry=True,
        ),
    ]
    found += _denial_checks(inventory, prober, worker_tag or prober.tag, sweep=True)
    for other in inventory.workers[1:]:
        found += _node_checks(other)
    return found


def _lan(inventory: Inventory) -> list[Check]:
    group = LAN_PROBE
    target = inventory.orchestrator.hostname
    return [
        Check(
            id="lan-path",
            group=group,
            title=f"LAN probe → {target}: its own path (SSH port)",
            prober=LAN_PROBE,
            target=target,
            judge=checks.lan_path,
            specs=checks.lan_specs,
        ),
        Check(
            id="lan-api-closed",
            group=group,
            title=f"LAN probe → {target}: API port closed on the LAN",
            prober=LAN_PROBE,
            target=target,
            judge=checks.api_closed_on_lan,
            specs=checks.lan_specs,
        ),
    ]


def plan(inventory: Inventory) -> list[Check]:
    worker_tag = inventory.workers[0].tag if inventory.workers else None
    return [
        *_ssh(inventory),
        *_orchestrator(inventory),
        *_relays(inventory),
        *_workers(inventory, worker_tag),
        *_lan(inventory),
    ]


def run(engine: Engine, selected: Sequence[str] | None = None) -> dict[str, Check]:
    """Start ``engine`` on the plan (or the ``selected`` ids of it); the checks by id."""
    planned = {check.id: check for check in plan(engine.inventory)}
    chosen = (
        [planned[item] for item in selected] if selected is not None else list(planned.values())
    )
    engine.start(chosen)
    return planned
