"""The rendered tailnet policy as verify reads it: who may reach what, and what its tests deny.

Read from the ``policy.hujson`` a render wrote (pure: the document arrives parsed). Both rule
sections count, their union being the policy (Tailscale KB 1538, "grants"; KB 1018, "acls"):

- ``acls``: ``{"action": "accept", "src": [...], "proto"?: ..., "dst": ["<selector>:<ports>"]}``;
- ``grants``: ``{"src": [...], "dst": ["<selector>"], "ip": ["<proto>:<ports>", "<ports>", "*"]}``.

A rule without a protocol admits TCP, UDP, ICMPv4 and ICMPv6 (tailscale v1.98.5
``tailcfg.FilterRule.IPProto`` "empty means TCP, UDP and ICMP"; wgengine/filter/tailcfg.go
``defaultProtos``). An ICMP echo reaches a node from any source some rule lets reach it on any
port (wgengine/filter/filter.go ``runIn4``/``runIn6``: "If any port is open to an IP, allow ICMP
to it"). Two nodes are peers, each in the other's netmap, when some rule lets either reach the
other; every other node is trimmed from the netmap (KB 1087, "netmap trimming").

A selector covers a tagged node when it is ``*``, one of its tags, ``autogroup:tagged``, an
address or network holding one of its tailnet addresses, or a ``hosts`` alias of one. Users,
groups and the other autogroups cover no tagged node: no test node can carry them.

Every field read is checked for type and size: a policy that does not parse is refused with
the field named (:class:`PolicyError`), nothing is guessed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from infra.ground.errors import RefusedError

MAX_ENTRIES = 10_000
"""Rules, tests, selectors per list: far above any real policy, and a bound on the work."""
MAX_TEXT = 256
ALL_PORTS = (0, 65535)
DEFAULT_PROTOCOLS = frozenset({"tcp", "udp", "icmp", "icmpv6"})
PROTOCOL_NAMES = {
    # types/ipproto/ipproto.go acceptedNames (tailscale v1.98.5), and their numbers.
    "tcp": "tcp",
    "6": "tcp",
    "udp": "udp",
    "17": "udp",
    "icmp": "icmp",
    "icmpv4": "icmp",
    "1": "icmp",
    "icmpv6": "icmpv6",
    "ipv6-icmp": "icmpv6",
    "58": "icmpv6",
}
TAGGED = "autogroup:tagged"


class PolicyError(RefusedError):
    """The policy cannot be read: the message names the field (within the policy)."""


@dataclass(frozen=True)
class Party:
    """A node as the policy sees it: its tags and tailnet addresses (empty when not known)."""

    tags: tuple[str, ...]
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    """One destination of one accept rule."""

    where: str
    """``acls[0]`` or ``grants[2]``: where a reader finds it."""
    sources: tuple[str, ...]
    destination: str
    protocols: frozenset[str]
    """Names from PROTOCOL_NAMES' values, or ``proto:<n>`` for any other protocol."""
    ports: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Denial:
    """One ``deny`` entry of the policy's ``tests``."""

    where: str
    source: str
    destination: str
    """A tag, a ``hosts`` alias or an address (IPv6 without its brackets)."""
    port: int
    protocols: frozenset[str]
    """The test's ``proto``, or every default protocol when it names none."""


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    denials: tuple[Denial, ...]
    hosts: Mapping[str, str]

    def covers(self, selector: str, party: Party, address: str | None = None) -> bool:
        """Does ``selector`` cover ``party`` (at ``address``, when one is given)?"""
        if selector == "*" or (selector == TAGGED and party.tags):
            return True
        if selector.startswith("tag:"):
            return selector in party.tags
        network = _network(self.hosts.get(selector, selector))
        if network is None:
            return False  # a user, a group or another autogroup: no tagged node
        addresses = (address,) if address is not None else party.addresses
        return any(_in(candidate, network) for candidate in addresses)

    def rules_from(
        self, source: Party, destination: Party, address: str | None = None
    ) -> list[Rule]:
        """The rules that let ``source`` reach ``destination`` (at ``address``) on some port."""
        return [
            rule
            for rule in self.rules
            if any(self.covers(selector, source) for selector in rule.sources)
            and self.covers(rule.destination, destination, address)
        ]

    def allows(
        self, source: Party, destination: Party, proto: str, port: int, address: str | None = None
    ) -> bool:
        return any(
            proto in rule.protocols and any(low <= port <= high for low, high in rule.ports)
            for rule in self.rules_from(source, destination, address)
        )

    def opens_any(self, source: Party, destination: Party, address: str | None = None) -> bool:
        """Any rule at all from ``source`` to ``destination``: ICMP echo passes then, too."""
        return bool(self.rules_from(source, destination, address))

    def peers(self, one: Party, other: Party) -> bool:
        """Whether control puts each in the other's netmap (some path in either direction)."""
        return self.opens_any(one, other) or self.opens_any(other, one)

    def allowed_ports(
        self, source: Party, destination: Party, proto: str, address: str | None = None
    ) -> tuple[tuple[int, int], ...]:
        ranges = {
            span
            for rule in self.rules_from(source, destination, address)
            if proto in rule.protocols
            for span in rule.ports
        }
        return tuple(sorted(ranges))


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _in(address: str, network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> bool:
    try:
        return ipaddress.ip_address(address) in network
    except ValueError:
        return False


def is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


# -- reading -------------------------------------------------------------------------


def _list(document: Mapping[str, Any], key: str, where: str) -> Sequence[Any]:
    name = f"{where}.{key}" if where else key
    value = document.get(key, [])
    if not isinstance(value, list):
        raise PolicyError(f"{name}: got {type(value).__name__}; expected a list")
    if len(value) > MAX_ENTRIES:
        raise PolicyError(f"{name}: {len(value)} entries; at most {MAX_ENTRIES} are read")
    return value


def _text(value: object, where: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise PolicyError(f"{where}: got {value!r:.80}; expected a non-empty string")
    if any(not character.isprintable() for character in value):
        raise PolicyError(f"{where}: control characters in {value!r:.80}")
    return value


def _texts(document: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    return tuple(
        _text(item, f"{where}.{key}[{index}]")
        for index, item in enumerate(_list(document, key, where))
    )


def _port(text: str, where: str) -> int:
    if not text.isdigit() or len(text) > 5 or int(text) > ALL_PORTS[1]:
        raise PolicyError(f"{where}: port {text!r} is not a number from 0 to 65535")
    return int(text)


def parse_ports(text: str, where: str) -> tuple[tuple[int, int], ...]:
    """``22``, ``80,443``, ``8000-8100`` or ``*`` as inclusive ranges."""
    spans = []
    for part in text.split(","):
        if part == "*":
            spans.append(ALL_PORTS)
            continue
        low, _, high = part.partition("-")
        first = _port(low, where)
        last = _port(high, where) if high else first
        if last < first:
            raise PolicyError(f"{where}: port range {part!r} runs backwards")
        spans.append((first, last))
    return tuple(spans)


def protocol(name: str, where: str) -> str:
    known = PROTOCOL_NAMES.get(name.lower())
    if known is not None:
        return known
    if name.isdigit() and int(name) <= 255:
        return f"proto:{int(name)}"
    raise PolicyError(f"{where}: unknown protocol {name!r}; expected tcp, udp, icmp or 0-255")


def split_destination(entry: str, where: str) -> tuple[str, str]:
    """``tag:x:22`` → (``tag:x``, ``22``); ``[fd7a::1]:22`` → (``fd7a::1``, ``22``)."""
    selector, separator, ports = entry.rpartition(":")
    if not separator or not selector:
        raise PolicyError(f"{where}: {entry!r} has no ':<ports>' part")
    if selector.startswith("[") and selector.endswith("]"):
        selector = selector[1:-1]
    return selector, ports


def _acl(document: object, index: int) -> list[Rule]:
    where = f"acls[{index}]"
    if not isinstance(document, Mapping):
        raise PolicyError(f"{where}: expected an object")
    if document.get("action", "accept") != "accept":
        raise PolicyError(f"{where}.action: only 'accept' exists in Tailscale policies")
    proto = document.get("proto")
    protocols = (
        frozenset({protocol(_text(proto, f"{where}.proto"), f"{where}.proto")})
        if proto is not None
        else DEFAULT_PROTOCOLS
    )
    sources = _texts(document, "src", where)
    rules = []
    for position, entry in enumerate(_texts(document, "dst", where)):
        at = f"{where}.dst[{position}]"
        selector, ports = split_destination(entry, at)
        rules.append(Rule(where, sources, selector, protocols, parse_ports(ports, at)))
    return rules


def _grant(document: object, index: int) -> list[Rule]:
    where = f"grants[{index}]"
    if not isinstance(document, Mapping):
        raise PolicyError(f"{where}: expected an object")
    sources = _texts(document, "src", where)
    by_protocols: list[tuple[frozenset[str], tuple[tuple[int, int], ...]]] = []
    for position, entry in enumerate(_texts(document, "ip", where)):
        at = f"{where}.ip[{position}]"
        name, separator, ports = entry.rpartition(":")
        if not separator:
            by_protocols.append((DEFAULT_PROTOCOLS, parse_ports(entry, at)))
        else:
            by_protocols.append((frozenset({protocol(name, at)}), parse_ports(ports, at)))
    return [
        Rule(where, sources, selector, protocols, ports)
        for selector in _texts(document, "dst", where)
        for protocols, ports in by_protocols
    ]


def _denials(document: object, index: int) -> list[Denial]:
    where = f"tests[{index}]"
    if not isinstance(document, Mapping):
        raise PolicyError(f"{where}: expected an object")
    source = _text(document.get("src"), f"{where}.src")
    proto = document.get("proto")
    protocols = (
        frozenset({protocol(_text(proto, f"{where}.proto"), f"{where}.proto")})
        if proto is not None
        else DEFAULT_PROTOCOLS
    )
    denials = []
    for position, entry in enumerate(_texts(document, "deny", where)):
        at = f"{where}.deny[{position}]"
        selector, port = split_destination(entry, at)
        denials.append(Denial(at, source, selector, _port(port, at), protocols))
    return denials


def read_policy(document: object) -> Policy:
    """The policy a render wrote, read and checked; PolicyError names what is wrong."""
    if not isinstance(document, Mapping):
        raise PolicyError("expected the policy document, an object")
    hosts = document.get("hosts", {})
    if not isinstance(hosts, Mapping) or len(hosts) > MAX_ENTRIES:
        raise PolicyError("hosts: expected an object of alias → address")
    aliases = {_text(name, "hosts"): _text(value, f"hosts.{name}") for name, value in hosts.items()}
    rules = [
        *(rule for index, item in enumerate(_list(document, "acls", ""))
          for rule in _acl(item, index)),
        *(rule for index, item in enumerate(_list(document, "grants", ""))
          for rule in _grant(item, index)),
    ]  # fmt: skip
    denials = [
        denial
        for index, item in enumerate(_list(document, "tests", ""))
        for denial in _denials(item, index)
    ]
    return Policy(tuple(rules), tuple(denials), aliases)


def tag_sources(policy: Policy) -> list[str]:
    """The tags the policy's tests deny something to, in order of first appearance."""
    seen: list[str] = []
    for denial in policy.denials:
        if denial.source.startswith("tag:") and denial.source not in seen:
            seen.append(denial.source)
    return seen


def untestable_sources(policy: Policy) -> list[str]:
    """Test sources no tagged node can stand for (users, groups): they are not probed."""
    seen: list[str] = []
    for denial in policy.denials:
        if not denial.source.startswith("tag:") and denial.source not in seen:
            seen.append(denial.source)
    return seen


def spans_text(spans: Iterable[tuple[int, int]]) -> str:
    """Port ranges as a reader writes them: ``22, 8000-8100``."""
    parts = [str(low) if low == high else f"{low}-{high}" for low, high in spans]
    return ", ".join(parts) if parts else "none"
