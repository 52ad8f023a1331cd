"""What each check judges, and the probes it needs (plan.py lists them for an inventory).

A judge returns one line saying what it found, or raises :class:`CheckFailedError` with one
plain sentence saying what is wrong; :class:`NotJudgedError` when what it rests on failed (the
prober is not what it should be, the target is not alive), :class:`Skip` when there is
nothing to check (the run fails unless the tester allows that skip by name).
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from infra.verify.healthz import Expected, judge
from infra.verify.inventory import Node, Relay, reached_over_ssh
from infra.verify.observed import NodeView, Status
from infra.verify.policy import Party, spans_text
from infra.verify.skips import SKIPS
from tests.infra.engine import (
    LAN_PROBE,
    CheckFailedError,
    Context,
    Engine,
    NotJudgedError,
    SkippedError,
)
from tests.infra.probes import Result, Spec
from tests.infra.remote import UnreachableError

DNS_PORT = 53
DNS_ANSWERED = {"0", "3"}
"""NOERROR or NXDOMAIN: the server answers for the domain (REFUSED/SERVFAIL do not)."""

# What a tester may allow with --allow-skip NAME: each is explained in infra/verify/skips.py.
NO_WORKER = "no-worker"
NO_TARGET = "no-target"
NO_IPV6 = "no-ipv6"
NO_LAN_ADDRESS = "no-lan-address"
UDP_SILENT = "udp-silent"
assert {NO_WORKER, NO_TARGET, NO_IPV6, NO_LAN_ADDRESS, UDP_SILENT} == set(SKIPS)


def family(address: str) -> str:
    return "IPv6" if ":" in address else "IPv4"


def _stack_host(engine: Engine, node: Node) -> bool:
    return node == engine.inventory.orchestrator or node in engine.inventory.relays


def _peer(status: Status, party: Party) -> NodeView | None:
    for address in party.addresses:
        found = status.peer_at(address)
        if found is not None:
            return found
    return None


# -- every host ------------------------------------------------------------------------


def reachable(context: Context, label: str) -> str:
    """One command over SSH, with the host key pinned: the host's facts (or ``true``)."""
    engine = context.engine
    endpoint = engine.endpoint(label)
    if label == LAN_PROBE:
        engine.remote(label).run("true")
    else:
        engine.facts(engine.node(label), context.fresh)
    if not reached_over_ssh(endpoint.spec):
        return f"runs on this machine ({endpoint.spec})"
    pinned = "host key pinned" if endpoint.host_key else "host key from your known_hosts"
    return f"{endpoint.spec}, {pinned}"


def identity(engine: Engine, node: Node) -> Status:
    """Running, Online (connected to control), carrying its tag, and for the stack's own hosts
    tailscaled's unit active. Computed once per node, retried within the budget."""

    def attempt(fresh: bool) -> Status:
        facts = engine.facts(node, fresh)
        if _stack_host(engine, node):
            state = facts.unit("tailscaled", engine.units(node))
            if state != "active":
                raise CheckFailedError(
                    f"{node.hostname}: unit tailscaled is {state!r}, expected 'active'"
                )
        status = facts.status()
        if status.backend_state != "Running":
            raise CheckFailedError(
                f"{node.hostname}: BackendState is {status.backend_state!r}, expected 'Running'"
            )
        if not status.me.online:
            raise CheckFailedError(f"{node.hostname}: not connected to control (Online false)")
        if node.tag not in status.me.tags:
            carried = ", ".join(status.me.tags) or "no tag"
            raise CheckFailedError(f"{node.hostname} carries {carried}, expected {node.tag}")
        return status

    return engine.once(("identity", node.hostname), lambda: engine.retrying(attempt))


def proven(engine: Engine, prober: Node) -> Status:
    """The prober's identity, or NotJudgedError: what an unproven node sees does not count."""
    try:
        return identity(engine, prober)
    except CheckFailedError as failure:
        raise NotJudgedError(
            f"{prober.hostname} is not a proven {prober.tag} node: {failure}"
        ) from None
    except UnreachableError:
        raise NotJudgedError(
            f"{prober.hostname} is unreachable over SSH (see its SSH line)"
        ) from None


def tailscaled(context: Context, node: Node) -> str:
    status = identity(context.engine, node)
    unit = "unit active, " if _stack_host(context.engine, node) else ""
    addresses = ", ".join(status.me.addresses) or "no address"
    return f"{unit}Running, Online, tagged {node.tag} ({addresses})"


# -- the orchestrator --------------------------------------------------------------------


def not_ephemeral(context: Context) -> str:
    """``tailscale status`` does not say whether a node is ephemeral; a node is when its auth
    key was (plan.json), or when tailscaled runs with ``--state=mem:`` (tailscale v1.98.5
    cmd/tailscaled/tailscaled.go registers such a node as ephemeral)."""
    node = context.engine.inventory.orchestrator
    if node.key_ephemeral:
        raise CheckFailedError(f"{node.hostname}: its auth key is ephemeral (plan.json)")
    command_line = context.facts(node).tailscaled_command_line()
    if not command_line.strip():
        raise CheckFailedError(f"{node.hostname}: tailscaled has no main process")
    if "--state=mem:" in command_line:
        raise CheckFailedError(
            f"{node.hostname}: tailscaled runs with --state=mem: (ephemeral node)"
        )
    return "its key is not ephemeral, and tailscaled keeps its state on disk"


def unit_active(context: Context, node: Node, unit: str) -> str:
    state = context.engine.unit(node, unit, context.fresh)
    if state != "active":
        raise CheckFailedError(f"{node.hostname}: unit {unit} is {state!r}, expected 'active'")
    return f"unit {unit} active"


def view(context: Context, node: Node) -> str:
    """In the orchestrator's netmap: Online with its tag, or trimmed as the policy has it (no
    path either way: then its own status speaks, in its own block)."""
    engine = context.engine
    orchestrator = engine.inventory.orchestrator
    proven(engine, orchestrator)
    seen = engine.status(orchestrator, context.fresh)
    party = engine.party(node, context.fresh)
    peer = _peer(seen, party)
    expected = engine.policy.peers(engine.party(orchestrator), party)
    if peer is None:
        if expected:
            raise CheckFailedError(
                f"{node.hostname} is not in {orchestrator.hostname}'s netmap, though the policy "
                "gives them a path: it is off the tailnet, untagged, or control has not sent it"
            )
        return "not in its netmap, as the policy has it (no path either way)"
    if not expected:
        raise CheckFailedError(
            f"{node.hostname} is in {orchestrator.hostname}'s netmap, but the rendered policy "
            "opens no path between them: the policy in force is not the rendered one"
        )
    if not peer.online:
        raise CheckFailedError(f"control reports {node.hostname} offline (Online false)")
    if node.tag not in peer.tags:
        carried = ", ".join(peer.tags) or "no tag"
        raise CheckFailedError(
            f"{node.hostname} carries {carried} in its netmap, expected {node.tag}"
        )
    return f"Online, tagged {node.tag}"


# -- the live-path control -------------------------------------------------------------


def alive_specs(engine: Engine, prober: Node, target: Node) -> list[Spec]:
    """TSMP pings, when the target is in the prober's netmap: they cross WireGuard to the
    peer's tailscaled, which answers them before its packet filter (tailscale v1.98.5
    net/tstun/wrap.go ``filterPacketInboundFromWireGuard``), so they prove the path without
    testing the policy (Tailscale KB 1338)."""
    peer = _peer(engine.status(prober), engine.party(target))
    return [Spec("tsmp", address) for address in peer.addresses] if peer else []


def liveness(engine: Engine, prober: Node, target: Node) -> str:
    """Whether ``target`` is alive for ``prober``; CheckFailedError (a dead peer) when it is not.
    Computed once per pair, retried within the budget."""

    def attempt(fresh: bool) -> str:
        proven(engine, prober)
        party = engine.party(target, fresh)
        peer = _peer(engine.status(prober, fresh), party)
        if peer is None:
            if engine.policy.peers(engine.party(prober), party):
                raise CheckFailedError(
                    f"{target.hostname} is missing from {prober.hostname}'s netmap, though the "
                    "policy gives them a path: it is off the tailnet, untagged or not yet sent "
                    "by control, so no block towards it can be judged"
                )
            own = engine.status(target, fresh)
            if own.backend_state != "Running" or not own.me.online:
                raise CheckFailedError(
                    f"{target.hostname} is not on the tailnet (BackendState "
                    f"{own.backend_state!r}, Online {str(own.me.online).lower()}): "
                    "a dead peer, not a block"
                )
            return (
                f"not a peer: the policy opens no path either way, so control trims it from "
                f"{prober.hostname}'s netmap; {target.hostname} itself is Running and Online"
            )
        if not peer.online:
            raise CheckFailedError(
                f"control reports {target.hostname} offline in {prober.hostname}'s netmap: "
                "a dead peer, not a block"
            )
        specs = [Spec("tsmp", address) for address in peer.addresses]
        results = engine.probe(prober.hostname, specs, fresh)
        silent = [spec.target for spec in specs if results[spec].verdict != "pong"]
        if silent:
            raise CheckFailedError(
                f"{target.hostname} ({', '.join(silent)}) does not answer a TSMP ping from "
                f"{prober.hostname}: it is down or its WireGuard path is broken (a dead peer, "
                "which a block would look like)"
            )
        pongs = ", ".join(f"{family(spec.target)} in {results[spec].value}" for spec in specs)
        return f"alive at the tailnet layer: TSMP pong over {pongs}"

    key = ("alive", prober.hostname, target.hostname)
    return engine.once(key, lambda: engine.retrying(attempt))


def alive(context: Context, prober: Node, target: Node) -> str:
    return liveness(context.engine, prober, target)


def _live(engine: Engine, prober: Node, target: Node) -> None:
    proven(engine, prober)
    try:
        liveness(engine, prober, target)
    except CheckFailedError as failure:
        raise NotJudgedError(f"no live path to judge it by: {failure}") from None


# -- blocks ---------------------------------------------------------------------------


def _domain(engine: Engine) -> str:
    relays: Sequence[Relay] = engine.inventory.relays
    return relays[0].internal_domain if relays else "internal"


def carried(engine: Engine, prober: Node, target: Node, fresh: bool = False) -> tuple[str, ...]:
    """The target's addresses the prober's tailnet carries: those a peer holds or routes. The
    others have no WireGuard peer and no route on the prober (Linux tailscaled routes each
    peer's addresses only: ipn/ipnlocal/local.go ``shouldUseOneCGNATRoute``), so nothing
    reaches them over the tailnet; no probe is sent there, where it would leave by the host's
    default route instead and test some other network."""
    status = engine.status(prober, fresh)
    return tuple(
        address
        for address in engine.addresses(target)
        if status.peer_at(address) is not None or status.route_to(address) is not None
    )


NOT_CARRIED = "nothing reaches it over the tailnet: no WireGuard peer, no route"


def deny_specs(engine: Engine, prober: Node, target: Node, port: int, proto: str) -> list[Spec]:
    if proto == "udp":
        domain = _domain(engine)
        return [Spec("dns", address, domain) for address in carried(engine, prober, target)]
    return [Spec("tcp", address, str(port)) for address in carried(engine, prober, target)]


def _shown(results: dict[Spec, Result]) -> str:
    return ", ".join(f"{family(spec.target)} {result}" for spec, result in results.items())


def denied(context: Context, prober: Node, target: Node, port: int, proto: str) -> str:
    """A destination the policy's tests deny: no answer over either family (a reset counts as
    an answer: the packet got through the policy, only nothing listened)."""
    engine = context.engine
    if proto == "udp" and port != DNS_PORT:
        raise SkippedError(
            UDP_SILENT, f"{port}/udp: silence proves nothing for a protocol not spoken"
        )
    _live(engine, prober, target)
    results = context.results()
    reached = {spec: result for spec, result in results.items() if not result.blocked}
    if reached:
        shown = ", ".join(f"{spec.target} {result}" for spec, result in reached.items())
        raise CheckFailedError(
            f"{port}/{proto} on {target.hostname} is not blocked from {prober.hostname}: {shown}"
        )
    return _shown(results) or NOT_CARRIED


def icmp_specs(engine: Engine, prober: Node, target: Node) -> list[Spec]:
    """Echo requests through the prober's tailscaled, to the addresses its tailnet carries."""
    return [Spec("icmp", address) for address in carried(engine, prober, target)]


def icmp_blocked(context: Context, prober: Node, target: Node) -> str:
    """No rule lets the prober reach the target on any port, so no echo may pass either
    (tailscale v1.98.5 wgengine/filter/filter.go: ICMP passes where some port is open)."""
    engine = context.engine
    _live(engine, prober, target)
    results = context.results()
    if not results:
        return NOT_CARRIED
    answered = [spec.target for spec, result in results.items() if result.verdict == "pong"]
    if answered:
        raise CheckFailedError(
            f"{target.hostname} answers an ICMP echo from {prober.hostname} at "
            f"{', '.join(answered)}: some rule lets {prober.tag} reach it"
        )
    return _shown(results)


def _open_to(engine: Engine, prober: Node, target: Node, proto: str, port: int) -> bool:
    source, destination = engine.party(prober), engine.party(target)
    return any(
        engine.policy.allows(source, destination, proto, port, address)
        for address in destination.addresses
    )


def sweep_specs(engine: Engine, prober: Node, target: Node) -> list[Spec]:
    specs: list[Spec] = []
    source, destination = engine.party(prober), engine.party(target)
    reachable = carried(engine, prober, target)
    for listener in engine.facts(target).listeners():
        if listener.loopback or (listener.proto == "udp" and listener.port != DNS_PORT):
            continue
        for address in reachable:
            if not listener.serves(address) or engine.policy.allows(
                source, destination, listener.proto, listener.port, address
            ):
                continue
            if listener.proto == "tcp":
                spec = Spec("tcp", address, str(listener.port))
            else:
                spec = Spec("dns", address, _domain(engine))
            if spec not in specs:
                specs.append(spec)
    return specs


def sweep(context: Context, prober: Node, target: Node) -> str:
    """Every socket listening on the target (``ss -Htuln``): only the ports the policy opens to
    the prober's tag may answer it, over either family."""
    engine = context.engine
    _live(engine, prober, target)
    listeners = [item for item in context.facts(target).listeners() if not item.loopback]
    results = context.results()
    reached = {spec: result for spec, result in results.items() if not result.blocked}
    if reached:
        opened = spans_text(
            engine.policy.allowed_ports(engine.party(prober), engine.party(target), "tcp")
        )
        shown = ", ".join(
            f"{spec.argument if spec.kind == 'tcp' else DNS_PORT}/"
            f"{'tcp' if spec.kind == 'tcp' else 'udp'} at {spec.target} {result}"
            for spec, result in reached.items()
        )
        raise CheckFailedError(
            f"{target.hostname} answers {prober.hostname} on a port the policy does not open to "
            f"{prober.tag}: {shown} (it opens tcp {opened})"
        )
    if not carried(engine, prober, target):
        return f"{len(listeners)} listening socket(s), but {NOT_CARRIED}"
    probed = sorted({int(spec.argument) for spec in results if spec.kind == "tcp"})
    parts = [f"tcp {', '.join(map(str, probed))} blocked" if probed else "no tcp port to probe"]
    if any(spec.kind == "dns" for spec in results):
        parts.append("udp 53 blocked")
    allowed = sorted(
        {item.port for item in listeners if _open_to(engine, prober, target, item.proto, item.port)}
    )
    if allowed:
        parts.append(f"{', '.join(map(str, allowed))} open to {prober.tag} by the policy")
    silent = sorted({item.port for item in listeners if item.proto == "udp"} - {DNS_PORT})
    if silent:
        parts.append(f"udp {', '.join(map(str, silent))} not judged (silence proves nothing)")
    return "; ".join(parts)


def no_path_specs(
    engine: Engine, prober: Node, target: Node, ports: Sequence[tuple[int, str]], sweep: bool
) -> list[Spec]:
    """Nothing while the target is not carried; every probe of the pair once it is."""
    specs = [
        spec for port, proto in ports for spec in deny_specs(engine, prober, target, port, proto)
    ]
    specs += icmp_specs(engine, prober, target)
    if sweep:
        specs += [spec for spec in sweep_specs(engine, prober, target) if spec not in specs]
    return specs


def no_path(
    context: Context, prober: Node, target: Node, ports: Sequence[tuple[int, str]], sweep: bool
) -> str:
    """A pair the rendered policy opens no path between, either way: control trims each from
    the other's netmap, so the prober has no WireGuard peer and no route for the target, and
    every denied port, ICMP and (for a worker) every listening socket is blocked at once. The
    control is the target's own status. Should the target be carried all the same (the policy
    in force opens something), each is probed, after the TSMP control, and none may answer."""
    engine = context.engine
    listed = ", ".join(f"{port}/{proto}" for port, proto in ports)
    if not carried(engine, prober, target, context.fresh):
        liveness(engine, prober, target)  # its own status: alive, so this is no dead peer
        blocked = f"{listed}, ICMP{' and every listening socket' if sweep else ''}"
        return (
            f"not in {prober.hostname}'s netmap (control trims it), so {blocked} are blocked; "
            f"{target.hostname} itself is Running and Online"
        )
    _live(engine, prober, target)
    results = context.results()
    reached = {spec: result for spec, result in results.items() if not result.blocked}
    reached.update({spec: result for spec, result in results.items() if result.verdict == "pong"})
    if reached:
        shown = ", ".join(
            f"{_what(spec)} at {spec.target} {result}" for spec, result in reached.items()
        )
        raise CheckFailedError(
            f"{target.hostname} answers {prober.hostname}, though the rendered policy opens no "
            f"path between them: {shown}"
        )
    return f"a peer (the policy in force opens something), yet nothing answers: {_shown(results)}"


def _answered(spec: Spec, result: Result) -> bool:
    """An echo answers with a pong; a connection or a DNS query with anything but silence."""
    return result.verdict == "pong" if spec.kind == "icmp" else not result.blocked


def _what(spec: Spec) -> str:
    return {"tcp": f"{spec.argument}/tcp", "dns": f"{DNS_PORT}/udp", "icmp": "ICMP echo"}.get(
        spec.kind, spec.kind
    )


def no_route(context: Context, prober: Node, address: str, ports: Sequence[int]) -> str:
    """A denied address off the tailnet (behind a subnet router): no peer in the prober's
    netmap may carry it (its AllowedIPs or PrimaryRoutes)."""
    proven(context.engine, prober)
    router = context.engine.status(prober, context.fresh).route_to(address)
    if router is not None:
        raise CheckFailedError(
            f"{router.hostname} routes {address} for {prober.hostname} "
            f"({', '.join(router.routes())}), which the policy's tests deny on "
            f"{', '.join(map(str, ports))}"
        )
    return f"no peer in {prober.hostname}'s netmap routes it"


# -- a worker's view -------------------------------------------------------------------


def _orchestrator_addresses(engine: Engine) -> tuple[str, ...]:
    return engine.addresses(engine.inventory.orchestrator)


def magicdns_specs(engine: Engine) -> list[Spec]:
    return [Spec("resolve", engine.inventory.orchestrator.dns_name)]


def _resolved(engine: Engine, result: Result, prober: Node) -> str:
    name = engine.inventory.orchestrator.dns_name
    expected = set(_orchestrator_addresses(engine))
    if result.verdict != "found":
        raise CheckFailedError(
            f"MagicDNS: {name} does not resolve on {prober.hostname}, and workers reach the "
            "orchestrator by this name"
        )
    found = set(result.detail.split())
    if found - expected or not found & expected:
        raise CheckFailedError(
            f"MagicDNS name {name} resolves to {', '.join(sorted(found))}, not the "
            f"orchestrator's {', '.join(sorted(expected))} (a stale node holding the name?)"
        )
    return f"{name} → {', '.join(sorted(found))}"


def magicdns(context: Context, prober: Node) -> str:
    """The orchestrator's MagicDNS name resolves on the worker to its tailnet addresses: it is
    the name workers' URLs use, so a name that does not resolve fails; there is no fallback."""
    proven(context.engine, prober)
    (result,) = context.results().values()
    return _resolved(context.engine, result, prober)


def healthz_url(engine: Engine, address: str | None = None) -> str:
    node = engine.inventory.orchestrator
    host = (f"[{address}]" if ":" in address else address) if address else node.dns_name
    return f"http://{host}:{node.port}/healthz"


def healthz_specs(engine: Engine) -> list[Spec]:
    # IPv4: by name curl would take IPv6 first when MagicDNS offers it, which has its own check.
    return [*magicdns_specs(engine), Spec("http", healthz_url(engine), "4")]


def _orchestrator_alive(engine: Engine, prober: Node) -> None:
    proven(engine, prober)
    try:
        liveness(engine, prober, engine.inventory.orchestrator)
    except CheckFailedError as failure:
        raise NotJudgedError(f"no live path to the orchestrator: {failure}") from None


def healthz(context: Context, prober: Node) -> str:
    """GET /healthz by the MagicDNS name over IPv4, as a worker does."""
    engine = context.engine
    _orchestrator_alive(engine, prober)
    results = context.results()
    resolved, fetched = (results[spec] for spec in healthz_specs(engine))
    try:
        _resolved(engine, resolved, prober)
    except CheckFailedError as failure:
        raise NotJudgedError(f"by name, and MagicDNS failed: {failure}") from None
    return _judge_healthz(engine, healthz_url(engine), fetched, "")


def _orchestrator_ipv6(engine: Engine) -> str | None:
    return next((a for a in _orchestrator_addresses(engine) if ":" in a), None)


def healthz_ipv6_specs(engine: Engine) -> list[Spec]:
    address = _orchestrator_ipv6(engine)
    return [Spec("http", healthz_url(engine, address))] if address else []


def healthz_ipv6(context: Context, prober: Node) -> str:
    """RelayMD listens on IPv4; its IPv6 socket forwards the tailnet IPv6 address to it."""
    engine = context.engine
    _orchestrator_alive(engine, prober)
    address = _orchestrator_ipv6(engine)
    if address is None:
        raise SkippedError(
            NO_IPV6,
            f"{engine.inventory.orchestrator.hostname} reports no tailnet IPv6 address "
            "(IPv6 off on the host)",
        )
    (result,) = context.results().values()
    return _judge_healthz(engine, healthz_url(engine, address), result, " over IPv6")


def _judge_healthz(engine: Engine, url: str, result: Result, how: str) -> str:
    node = engine.inventory.orchestrator
    if result.verdict != "http":
        raise CheckFailedError(f"GET {url} failed: {result.detail.strip() or result.verdict}")
    status = int(result.value) if result.value.isdigit() else 0
    verdict = judge(status, result.detail, Expected(node.hostname, node.dns_name))
    if not verdict.healthy:
        raise CheckFailedError(f"/healthz{how}: {verdict.reason}")
    return verdict.reason


# -- relays ----------------------------------------------------------------------------


def dnsmasq_specs(engine: Engine, relay: Relay) -> list[Spec]:
    return [Spec("dns", address, relay.internal_domain) for address in engine.addresses(relay)]


def dnsmasq(context: Context, relay: Relay) -> str:
    """dnsmasq answers the internal domain on the relay's tailnet addresses (NOERROR or
    NXDOMAIN; a timeout, REFUSED or SERVFAIL fail)."""
    results = context.results()
    wrong = {
        spec: result
        for spec, result in results.items()
        if result.verdict != "rcode" or result.value not in DNS_ANSWERED
    }
    if wrong:
        shown = ", ".join(f"{spec.target}: {result}" for spec, result in wrong.items())
        raise CheckFailedError(
            f"{relay.hostname}: dnsmasq does not answer {relay.internal_domain} on {shown}"
        )
    return f"answers {relay.internal_domain} on {', '.join(spec.target for spec in results)}"


def infisical_relay(context: Context, relay: Relay) -> str:
    """Its unit runs and its ports listen exactly when the relay enables it."""
    inventory = context.engine.inventory
    facts = context.facts(relay)
    ports = set(inventory.infisical_relay_ports)
    listening = {item.port for item in facts.listeners() if item.proto == "tcp"}
    state = facts.unit(inventory.relay_unit, context.engine.units(relay))
    if relay.infisical_relay:
        if state != "active":
            raise CheckFailedError(
                f"{relay.hostname}: unit {inventory.relay_unit} is {state!r}, expected 'active'"
            )
        missing = sorted(ports - listening)
        if missing:
            raise CheckFailedError(
                f"{relay.hostname}: Infisical Relay ports {missing} do not listen"
            )
        return f"unit {inventory.relay_unit} active, ports {sorted(ports)} listen"
    if state == "active":
        raise CheckFailedError(
            f"{relay.hostname}: unit {inventory.relay_unit} is active, but it is not enabled"
        )
    stray = sorted(ports & listening)
    if stray:
        raise CheckFailedError(
            f"{relay.hostname}: ports {stray} listen, but the Infisical Relay is not enabled"
        )
    return f"not enabled: unit {inventory.relay_unit} inactive, ports {sorted(ports)} closed"


# -- the LAN side ----------------------------------------------------------------------


def _ssh_port(engine: Engine) -> int:
    try:
        return urlsplit(engine.inventory.orchestrator.host).port or 22
    except ValueError:
        return 22


def lan_specs(engine: Engine) -> list[Spec]:
    node = engine.inventory.orchestrator
    if not node.lan_address:
        return []
    return [
        Spec("tcp", node.lan_address, str(_ssh_port(engine))),
        Spec("tcp", node.lan_address, str(node.port)),
    ]


def _lan_results(context: Context) -> tuple[Result, Result]:
    if not context.engine.inventory.orchestrator.lan_address:
        raise SkippedError(NO_LAN_ADDRESS, "the inventory gives no orchestrator.lan_address")
    ssh, api = context.results().values()
    return ssh, api


def lan_path(context: Context) -> str:
    """The LAN probe proves its own path first: the orchestrator's SSH port answers it there."""
    engine = context.engine
    node = engine.inventory.orchestrator
    ssh, _ = _lan_results(context)
    port = _ssh_port(engine)
    if ssh.verdict != "open":
        raise CheckFailedError(
            f"the LAN probe ({engine.inventory.lan_probe}) cannot reach {node.lan_address}:{port} "
            f"({ssh}): it is not on the orchestrator's LAN, so what it sees of {node.port} "
            "proves nothing; run it from a machine on that LAN"
        )
    return f"{node.lan_address}:{port} answers: the probe is on the orchestrator's LAN"


def api_closed_on_lan(context: Context) -> str:
    node = context.engine.inventory.orchestrator
    ssh, api = _lan_results(context)
    if ssh.verdict != "open":
        raise NotJudgedError(
            f"the LAN probe does not reach {node.lan_address} (see the line above)"
        )
    if api.verdict == "open":
        raise CheckFailedError(
            f"port {node.port} accepts connections on the LAN at {node.lan_address}"
        )
    if api.verdict == "error":
        raise CheckFailedError(f"LAN probe of {node.lan_address}:{node.port} failed: {api}")
    return f"{node.lan_address}:{node.port} {api.verdict}"
