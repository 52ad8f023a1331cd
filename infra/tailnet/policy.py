"""The tailnet policy as data, derived from the stack config alone.

What RelayMD needs (and nothing more): workers call the orchestrator's API and
nothing else, nothing calls a worker, admins manage the hosts, and a relay's
internal routes are for admins only. The ``tests`` block is generated from the
same data, so it asserts every allow and every deny and cannot drift from them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from infra.config.settings import StackConfig

SSH_PORT = 22
DNS_PORT = 53

# Names of the rules (they appear in comments, test expectations and errors).
WORKERS_TO_ORCHESTRATOR = "workers-to-orchestrator"
ADMINS_SSH_TO_HOSTS = "admins-ssh-to-hosts"
ADMINS_TO_ORCHESTRATOR_API = "admins-to-orchestrator-api"
ADMINS_TO_INTERNAL_DNS = "admins-to-internal-dns"
ADMINS_TO_RELAY_ROUTES = "admins-to-relay-routes"

# Names of the denials the policy promises; each deny test asserts one of them.
WORKERS_REACH_ONLY_THE_API = "workers-reach-only-the-orchestrator-api"
NOTHING_REACHES_WORKERS = "nothing-reaches-workers"
ROUTES_FOR_ADMINS_ONLY = "relay-routes-for-admins-only"


@dataclass(frozen=True)
class AclRule:
    name: str
    comment: str
    src: tuple[str, ...]
    dst: tuple[str, ...]
    """``selector:ports`` entries, e.g. ``tag:relaymd-orchestrator:36158``."""
    proto: str | None = None
    """``tcp``/``udp``; None allows every protocol."""


@dataclass(frozen=True)
class Expectation:
    dst: str
    """``target:port`` where target is a tag or an IP address."""
    asserts: str
    """The rule (for an accept) or the promised denial (for a deny) this checks."""


@dataclass(frozen=True)
class PolicyTest:
    src: str
    comment: str
    accept: tuple[Expectation, ...]
    deny: tuple[Expectation, ...]


@dataclass(frozen=True)
class TagOwnership:
    tag: str
    owners: tuple[str, ...]
    purpose: str


@dataclass(frozen=True)
class Policy:
    tag_owners: tuple[TagOwnership, ...]
    acls: tuple[AclRule, ...]
    route_approvers: tuple[tuple[str, tuple[str, ...]], ...]
    """Subnet route → who may advertise it without manual approval."""
    tests: tuple[PolicyTest, ...]


def build_policy(config: StackConfig) -> Policy:
    tags = config.tailnet.tags
    admins = tuple(config.tailnet.admins)
    port = config.orchestrator.port
    routes = relay_routes(config)
    has_relays = bool(config.relays)

    acls = [
        AclRule(
            WORKERS_TO_ORCHESTRATOR,
            "Workers call the orchestrator's API; no other rule names workers as a source.",
            (tags.worker,),
            (f"{tags.orchestrator}:{port}",),
            "tcp",
        ),
        AclRule(
            ADMINS_SSH_TO_HOSTS,
            "Admins manage the orchestrator and relays over SSH.",
            admins,
            # The orchestrator's sshd listens on orchestrator.ssh_port; relays use 22.
            (f"{tags.orchestrator}:{config.orchestrator.ssh_port}", f"{tags.relay}:{SSH_PORT}"),
            "tcp",
        ),
        AclRule(
            ADMINS_TO_ORCHESTRATOR_API,
            "Admins use the RelayMD CLI and check /healthz.",
            admins,
            (f"{tags.orchestrator}:{port}",),
            "tcp",
        ),
    ]
    if has_relays:
        acls.append(
            AclRule(
                ADMINS_TO_INTERNAL_DNS,
                "Split DNS sends admins' queries for internal domains to the relays (UDP and TCP).",
                admins,
                (f"{tags.relay}:{DNS_PORT}",),
            )
        )
    if routes:
        acls.append(
            AclRule(
                ADMINS_TO_RELAY_ROUTES,
                "The networks behind the relays are for admins only.",
                admins,
                tuple(f"{route}:*" for route in routes),
            )
        )
    return Policy(
        tag_owners=(
            TagOwnership(tags.orchestrator, admins, "The orchestrator: a persistent node."),
            TagOwnership(tags.worker, admins, "Workers: ephemeral nodes that only call out."),
            TagOwnership(tags.relay, admins, "Relays: internal DNS and subnet routes."),
        ),
        acls=tuple(acls),
        route_approvers=tuple((str(route), (tags.relay,)) for route in routes),
        tests=tuple(_tests(config, routes)),
    )


def relay_routes(config: StackConfig) -> tuple[ipaddress.IPv4Network, ...]:
    """Every route a relay advertises, deduplicated and sorted by address."""
    return tuple(sorted({route for relay in config.relays for route in relay.advertise_routes}))


def admins_as_test_sources(admins: Iterable[str]) -> tuple[str, ...]:
    """Admins a policy test can name as its source: users and tags, not groups."""
    return tuple(admin for admin in admins if not admin.startswith(("group:", "autogroup:")))


def probe_address(route: ipaddress.IPv4Network) -> str:
    """A host inside ``route`` for tests to aim at."""
    return str(next(iter(route.hosts()), route.network_address))


def other_port(port: int) -> int:
    """A port next to the API port, standing for 'any other port' in deny tests."""
    return port + 1 if port < 65535 else port - 1


def _tests(config: StackConfig, routes: tuple[ipaddress.IPv4Network, ...]) -> Iterable[PolicyTest]:
    tags = config.tailnet.tags
    port = config.orchestrator.port
    orchestrator_ssh = config.orchestrator.ssh_port
    has_relays = bool(config.relays)
    probes = [probe_address(route) for route in routes]
    worker_targets = tuple(
        Expectation(f"{tags.worker}:{p}", NOTHING_REACHES_WORKERS)
        for p in _distinct(port, SSH_PORT)
    )
    route_denials = tuple(
        Expectation(f"{address}:{p}", ROUTES_FOR_ADMINS_ONLY)
        for address in probes
        for p in _distinct(SSH_PORT, port)
    )
    yield PolicyTest(
        tags.worker,
        "Workers reach the orchestrator's API and nothing else.",
        accept=(Expectation(f"{tags.orchestrator}:{port}", WORKERS_TO_ORCHESTRATOR),),
        deny=tuple(
            Expectation(f"{tags.orchestrator}:{p}", WORKERS_REACH_ONLY_THE_API)
            for p in _distinct(orchestrator_ssh, SSH_PORT, DNS_PORT, other_port(port))
            if p != port
        )
        + worker_targets
        + tuple(
            Expectation(f"{tags.relay}:{p}", WORKERS_REACH_ONLY_THE_API)
            for p in _distinct(SSH_PORT, DNS_PORT, port)
        )
        + route_denials,
    )
    for host_tag, what in ((tags.orchestrator, "The orchestrator"), (tags.relay, "A relay")):
        yield PolicyTest(
            host_tag,
            f"{what} opens no connection to a worker or into a relay's routes.",
            accept=(),
            deny=worker_targets + route_denials,
        )
    for admin in admins_as_test_sources(config.tailnet.admins):
        accept = [
            Expectation(f"{tags.orchestrator}:{orchestrator_ssh}", ADMINS_SSH_TO_HOSTS),
            Expectation(f"{tags.orchestrator}:{port}", ADMINS_TO_ORCHESTRATOR_API),
        ]
        if has_relays:
            accept.append(Expectation(f"{tags.relay}:{SSH_PORT}", ADMINS_SSH_TO_HOSTS))
            accept.append(Expectation(f"{tags.relay}:{DNS_PORT}", ADMINS_TO_INTERNAL_DNS))
        accept += [
            Expectation(f"{address}:{SSH_PORT}", ADMINS_TO_RELAY_ROUTES) for address in probes
        ]
        yield PolicyTest(
            admin,
            f"Admin {admin} manages the hosts but cannot reach workers.",
            accept=tuple(accept),
            deny=worker_targets,
        )


def _distinct(*ports: int) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ports))
