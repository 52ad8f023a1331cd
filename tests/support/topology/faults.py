"""Faults for the negative runs: each breaks one property of a built topology and returns
how to undo it. ``broken(topology, name)`` applies one for the length of a ``with`` block."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import Any

from infra.verify.inventory import Inventory
from tests.support.topology import netns
from tests.support.topology.nixos_firewall import IPV6_FORWARD_UNIT
from tests.support.topology.topology import (
    ANY_ADDRESS,
    PATH_TIMEOUT_SECONDS,
    PYTHON,
    SCHEDULER_WARNING,
    STANDINS,
    WORKER_TAG,
    Host,
    Topology,
    tailnet_address,
)

Undo = Callable[[], object]


@contextmanager
def broken(topology: Topology, name: str) -> Iterator[Inventory]:
    """Break one property; yields the inventory the checks should run with."""
    assert topology.inventory is not None
    undo = FAULTS[name](topology)
    try:
        assert topology.inventory is not None
        yield topology.inventory
    finally:
        undo()


def healthz_down(topology: Topology) -> Undo:
    host = topology.orchestrator()
    topology.stop_unit(host, "podman-relaymd-orchestrator")

    def undo() -> None:
        topology.start_api(host)
        port = topology.api_port()
        netns.wait_until(lambda: netns.listening(host.namespace, "127.0.0.1", port), "API")

    return undo


def api_ipv6_only(topology: Topology) -> Undo:
    """RelayMD bound to "::", which uvicorn makes IPv6-only: the tailnet IPv4 is refused.
    The IPv6 forwarding socket would hold [::]:port: it stops with the container (PartOf)."""
    host = topology.orchestrator()
    topology.stop_unit(host, IPV6_FORWARD_UNIT)
    topology.stop_unit(host, "podman-relaymd-orchestrator")
    topology.start_api(host, listen="::")
    port = topology.api_port()
    netns.wait_until(lambda: netns.listening(host.namespace, "::1", port), "API on ::")

    def undo() -> None:
        topology.stop_unit(host, "podman-relaymd-orchestrator")
        topology.start_api(host)
        netns.wait_until(lambda: netns.listening(host.namespace, "127.0.0.1", port), "API")
        topology.start_ipv6_forward(host)
        netns.wait_until(lambda: netns.listening(host.namespace, "::1", port), "IPv6 socket")

    return undo


def ipv6_forward_down(topology: Topology) -> Undo:
    """No IPv6 forwarding socket: RelayMD on 0.0.0.0 alone refuses the tailnet IPv6 address."""
    host = topology.orchestrator()
    topology.stop_unit(host, IPV6_FORWARD_UNIT)

    def undo() -> None:
        topology.start_ipv6_forward(host)
        port = topology.api_port()
        netns.wait_until(lambda: netns.listening(host.namespace, "::1", port), "IPv6 socket")

    return undo


def healthz_warning(topology: Topology) -> Undo:
    warnings = topology.orchestrator().directory / "warnings.json"
    warnings.write_text(json.dumps([SCHEDULER_WARNING]))
    return lambda: warnings.write_text("[]")


def _orchestrator_node(topology: Topology, **change: object) -> Undo:
    return _node(topology, topology.orchestrator(), **change)


def _node(topology: Topology, host: Host, **change: object) -> Undo:
    """Control now knows ``host`` so (its tags, name or login state): every netmap changes."""
    before = {key: getattr(host, key) for key in change}

    def apply(values: dict[str, object]) -> None:
        for key, value in values.items():
            setattr(host, key, value)
        topology.apply_policy()
        topology.write_magicdns()

    try:
        apply(change)
    except BaseException:
        apply(before)
        raise
    return lambda: apply(before)


def tailscale_disconnected(topology: Topology) -> Undo:
    return _orchestrator_node(topology, backend_state="NeedsLogin")


def wrong_hostname(topology: Topology) -> Undo:
    """Tailscale names a node whose name is still held by an old one ``<name>-1``."""
    return _orchestrator_node(topology, dns_label=topology.orchestrator().hostname + "-1")


def stale_name(topology: Topology) -> Undo:
    """MagicDNS hands the orchestrator's name to another (stale) node's address."""
    name = f"{topology.orchestrator().hostname}.{topology.magic_suffix()}"
    topology.write_magicdns({name: tailnet_address(250)})
    return topology.write_magicdns


def tailscaled_ephemeral(topology: Topology) -> Undo:
    host = topology.orchestrator()
    topology.restart_tailscaled(host, state="mem:")
    return lambda: topology.restart_tailscaled(host)


def orchestrator_untagged(topology: Topology) -> Undo:
    """The orchestrator joined with a key that carries no tag (a user's node)."""
    return _orchestrator_node(topology, tags=())


def relay_tag_lost(topology: Topology) -> Undo:
    """The relay joined with the worker key, as RelayMD's fallback would have it."""
    return _node(topology, topology.relays()[0], tags=(WORKER_TAG,))


def relay_tailscaled_stopped(topology: Topology) -> Undo:
    relay = topology.relays()[0]
    topology.stop_tailscaled(relay)
    return lambda: topology.restart_tailscaled(relay)


def _open(topology: Topology, source: str, destination: str, proto: str | None) -> Undo:
    """One more accept rule in the policy in force: control and every filter apply it."""
    before = topology.in_force
    opened = json.loads(json.dumps(before))
    rule = {"action": "accept", "src": [source], "dst": [destination]}
    opened["acls"].append({**rule, **({"proto": proto} if proto else {})})
    try:
        topology.apply_policy(opened)
    except BaseException:
        topology.apply_policy(before)  # never leave a half-applied fault behind
        raise
    return lambda: topology.apply_policy(before)


def _open_to_workers(topology: Topology, destination: str, proto: str | None) -> Undo:
    return _open(topology, WORKER_TAG, destination, proto)


def worker_to_worker(topology: Topology) -> Undo:
    return _open_to_workers(topology, f"{WORKER_TAG}:*", None)


def worker_to_orchestrator_ssh(topology: Topology) -> Undo:
    return _open_to_workers(topology, "tag:relaymd-orchestrator:22", "tcp")


def worker_to_relay_ssh(topology: Topology) -> Undo:
    return _open_to_workers(topology, "tag:relaymd-relay:22", "tcp")


def worker_to_relay_dns(topology: Topology) -> Undo:
    return _open_to_workers(topology, "tag:relaymd-relay:53", "udp")


def api_on_lan(topology: Topology) -> Undo:
    """The API port added to the NixOS firewall's global (every interface) list."""
    host = topology.orchestrator()
    declared = host.declarations
    assert declared is not None
    exposed = replace(declared.firewall, tcp=(*declared.firewall.tcp, str(topology.api_port())))
    host.declarations = replace(declared, firewall=exposed)
    topology.apply_firewalls()

    def undo() -> None:
        host.declarations = declared
        topology.apply_firewalls()

    return undo


def dnsmasq_stopped(topology: Topology) -> Undo:
    relay = topology.relays()[0]
    topology.stop_unit(relay, "dnsmasq")
    (relay.directory / "dnsmasq.pid").unlink(missing_ok=True)

    def undo() -> None:
        topology.start_dnsmasq(relay)
        netns.wait_until((relay.directory / "dnsmasq.pid").exists, "dnsmasq")

    return undo


def infisical_port_open(topology: Topology) -> Undo:
    """Something listens on an Infisical Relay port of a relay that does not enable it."""
    relay = topology.relays()[0]
    assert topology.inventory is not None
    port = topology.inventory.infisical_relay_ports[0]
    process = topology.namespaces.start(
        relay.namespace,
        [*PYTHON, str(STANDINS / "listener.py"), ANY_ADDRESS, str(port)],
        relay.directory / "stray-listener.log",
    )
    netns.wait_until(lambda: netns.listening(relay.namespace, "127.0.0.1", port), "listener")

    def undo() -> None:
        process.kill()
        process.wait(timeout=10)

    return undo


def infisical_relay_expected(topology: Topology) -> Undo:
    """Not a break of the host: the inventory now says the relay is enabled."""
    inventory = topology.inventory
    assert inventory is not None
    relays = tuple(replace(relay, infisical_relay=True) for relay in inventory.relays)
    return _inventory(topology, relays=relays)


# -- what a green run must not hide (each turns the whole run red) ---------------------


def _inventory(topology: Topology, **change: Any) -> Undo:
    inventory = topology.inventory
    assert inventory is not None
    topology.inventory = replace(inventory, **change)

    def undo() -> None:
        topology.inventory = inventory

    return undo


def no_worker(topology: Topology) -> Undo:
    """An inventory that names no worker-tagged test node."""
    return _inventory(topology, workers=())


def dead_peer(topology: Topology) -> Undo:
    """The second worker's WireGuard path is dead (its underlay link down) while control
    still reports it connected: a peer that answers nothing, as a blocked one would."""
    worker = topology.workers()[1]
    netns.ip("-n", worker.namespace, "link", "set", "u0", "down")

    def undo() -> None:
        netns.ip("-n", worker.namespace, "link", "set", "u0", "up")
        # WireGuard retries a handshake every 5 s: healed once the path answers again.
        orchestrator = topology.orchestrator()
        netns.wait_until(
            partial(topology.path_live, orchestrator, worker),
            "the path back",
            timeout=PATH_TIMEOUT_SECONDS,
        )

    return undo


def magicdns_down(topology: Topology) -> Undo:
    """The probing worker's resolver (MagicDNS) answers nothing."""
    worker = topology.workers()[0]
    topology.stop_magicdns(worker)

    def undo() -> None:
        topology.start_magicdns(worker)
        netns.wait_until((worker.directory / "magicdns.pid").exists, "MagicDNS")

    return undo


UNLISTED_PORT = 8080


def unlisted_port(topology: Topology) -> Undo:
    """Something listens on 8080 on the orchestrator and the policy opens it to workers; the
    policy's tests never mention 8080."""
    host = topology.orchestrator()
    process = topology.namespaces.start(
        host.namespace,
        [*PYTHON, str(STANDINS / "listener.py"), "::", str(UNLISTED_PORT)],
        host.directory / "unlisted.log",
    )
    netns.wait_until(
        lambda: netns.listening(host.namespace, "::1", UNLISTED_PORT), "the 8080 listener"
    )
    close = _open_to_workers(topology, f"{host.tags[0]}:{UNLISTED_PORT}", "tcp")

    def undo() -> None:
        close()
        process.kill()
        process.wait(timeout=10)

    return undo


def orchestrator_to_worker(topology: Topology) -> Undo:
    """The orchestrator may open SSH to workers, which the policy's tests deny."""
    return _open(topology, topology.orchestrator().tags[0], f"{WORKER_TAG}:22", "tcp")


def ipv6_only_hole(topology: Topology) -> Undo:
    """Workers reach the orchestrator's SSH on its tailnet IPv6 address only."""
    host = topology.orchestrator()
    return _open_to_workers(topology, f"[{host.tailnet_ip6}]:22", "tcp")


def lan_probe_off_lan(topology: Topology) -> Undo:
    """The LAN checks run from a host that is not on the orchestrator's LAN (a worker)."""
    assert topology.inventory is not None
    worker = topology.inventory.workers[0]
    return _inventory(topology, lan_probe=worker.host, lan_probe_host_key=worker.ssh_host_key)


def untagged_prober(topology: Topology) -> Undo:
    """The probing worker joined without its tag."""
    return _node(topology, topology.workers()[0], tags=())


FAULTS: dict[str, Callable[[Topology], Undo]] = {
    "healthz-down": healthz_down,
    "api-ipv6-only": api_ipv6_only,
    "ipv6-forward-down": ipv6_forward_down,
    "healthz-warning": healthz_warning,
    "tailscale-disconnected": tailscale_disconnected,
    "wrong-hostname": wrong_hostname,
    "stale-name": stale_name,
    "tailscaled-ephemeral": tailscaled_ephemeral,
    "orchestrator-untagged": orchestrator_untagged,
    "relay-tag-lost": relay_tag_lost,
    "relay-tailscaled-stopped": relay_tailscaled_stopped,
    "worker-to-worker": worker_to_worker,
    "worker-to-orchestrator-ssh": worker_to_orchestrator_ssh,
    "worker-to-relay-ssh": worker_to_relay_ssh,
    "worker-to-relay-dns": worker_to_relay_dns,
    "api-on-lan": api_on_lan,
    "dnsmasq-stopped": dnsmasq_stopped,
    "infisical-port-open": infisical_port_open,
    "infisical-relay-expected": infisical_relay_expected,
    "no-worker": no_worker,
    "dead-peer": dead_peer,
    "magicdns-down": magicdns_down,
    "unlisted-port": unlisted_port,
    "orchestrator-to-worker": orchestrator_to_worker,
    "ipv6-only-hole": ipv6_only_hole,
    "lan-probe-off-lan": lan_probe_off_lan,
    "untagged-prober": untagged_prober,
}
