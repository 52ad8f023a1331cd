"""What a checked host reports about itself, read with bounds (pure, no I/O).

- ``tailscale status --json``: ``ipnstate.Status`` (tailscale v1.98.5 ipn/ipnstate/ipnstate.go):
  ``BackendState``, ``Self`` and ``Peer`` (keyed by node key), each a ``PeerStatus`` with
  ``HostName``, ``DNSName`` (ending with a dot), ``TailscaleIPs``, ``Online`` ("connected to
  the control plane"), ``Tags``, ``AllowedIPs`` and ``PrimaryRoutes`` (these three are
  omitted when empty: ``omitempty``).
- ``ss -Htuln``: one listening socket per line, ``Netid State Recv-Q Send-Q Local Peer``
  (iproute2 ss(8); ``-H`` drops the header), the local address as ``0.0.0.0:22``,
  ``[::]:22``, ``*:22`` or ``100.64.0.2%tailscale0:53``.

A host is not trusted to answer in shape: sizes are capped and every field is type-checked;
what does not fit raises :class:`ObservedError` with a plain sentence.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MAX_STATUS_BYTES = 32 * 1024 * 1024
"""A status with tens of thousands of peers stays well below this."""
MAX_PEERS = 100_000
MAX_LIST = 4096
MAX_TEXT = 1024
MAX_LISTENERS = 65_536


class ObservedError(ValueError):
    """A host's answer is not what the tool prints: the message says what was wrong."""


@dataclass(frozen=True)
class NodeView:
    hostname: str
    dns_name: str
    addresses: tuple[str, ...]
    tags: tuple[str, ...]
    online: bool
    allowed_ips: tuple[str, ...] = ()
    primary_routes: tuple[str, ...] = ()

    @property
    def ipv4(self) -> str | None:
        return next((address for address in self.addresses if ":" not in address), None)

    @property
    def ipv6(self) -> str | None:
        return next((address for address in self.addresses if ":" in address), None)

    def routes(self) -> tuple[str, ...]:
        """Networks beyond its own addresses it carries traffic for (a subnet router's)."""
        own = {f"{address}/{128 if ':' in address else 32}" for address in self.addresses}
        return tuple(
            route for route in (*self.allowed_ips, *self.primary_routes) if route not in own
        )


@dataclass(frozen=True)
class Status:
    backend_state: str
    me: NodeView
    peers: tuple[NodeView, ...]
    version: str = ""

    def peer_at(self, address: str) -> NodeView | None:
        return next((peer for peer in self.peers if address in peer.addresses), None)

    def route_to(self, address: str) -> NodeView | None:
        """The peer whose routes hold ``address``, if one does."""
        target = ipaddress.ip_address(address)
        for peer in self.peers:
            for route in peer.routes():
                try:
                    if target in ipaddress.ip_network(route, strict=False):
                        return peer
                except ValueError:
                    continue
        return None


def _text(value: object, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ObservedError(f"{where} is not a short string")
    return value


def _texts(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_LIST:
        raise ObservedError(f"{where} is not a list of strings")
    return tuple(_text(item, where) for item in value)


def _node(document: object, where: str) -> NodeView:
    if not isinstance(document, Mapping):
        raise ObservedError(f"{where} is not an object")
    online = document.get("Online", False)
    if not isinstance(online, bool):
        raise ObservedError(f"{where}.Online is not true or false")
    return NodeView(
        hostname=_text(document.get("HostName"), f"{where}.HostName"),
        dns_name=_text(document.get("DNSName"), f"{where}.DNSName"),
        addresses=_texts(document.get("TailscaleIPs"), f"{where}.TailscaleIPs"),
        tags=_texts(document.get("Tags"), f"{where}.Tags"),
        online=online,
        allowed_ips=_texts(document.get("AllowedIPs"), f"{where}.AllowedIPs"),
        primary_routes=_texts(document.get("PrimaryRoutes"), f"{where}.PrimaryRoutes"),
    )


def parse_status(text: str) -> Status:
    """``tailscale status --json`` as printed; ObservedError when it is not that."""
    if len(text) > MAX_STATUS_BYTES:
        raise ObservedError(f"tailscale status printed {len(text)} bytes; more than expected")
    try:
        document: Any = json.loads(text)
    except (ValueError, RecursionError):
        raise ObservedError("tailscale status --json printed no JSON") from None
    if not isinstance(document, Mapping):
        raise ObservedError("tailscale status --json printed no object")
    peers = document.get("Peer") or {}
    if not isinstance(peers, Mapping) or len(peers) > MAX_PEERS:
        raise ObservedError("tailscale status: Peer is not a map of peers")
    me = document.get("Self")
    return Status(
        backend_state=_text(document.get("BackendState"), "BackendState"),
        me=_node(me, "Self") if me is not None else NodeView("", "", (), (), False),
        peers=tuple(_node(peer, f"Peer[{key!s:.20}]") for key, peer in peers.items()),
        version=_text(document.get("Version"), "Version"),
    )


@dataclass(frozen=True)
class Listener:
    proto: str
    """``tcp`` or ``udp``."""
    address: str
    """``0.0.0.0``, ``::``, ``*`` (both families) or one address."""
    port: int
    interface: str = ""
    """The ``%<interface>`` a socket is bound to, if any."""

    @property
    def wildcard(self) -> bool:
        return self.address in ("0.0.0.0", "::", "*")  # noqa: S104 - read, not bound

    def serves(self, address: str) -> bool:
        """Whether a connection to ``address`` could reach this socket."""
        if self.address == "*":
            return True
        if self.address == "0.0.0.0":  # noqa: S104
            return ":" not in address
        if self.address == "::":
            return True  # dual-stack unless IPV6_V6ONLY, which ss does not show
        return self.address == address

    @property
    def loopback(self) -> bool:
        try:
            return ipaddress.ip_address(self.address).is_loopback
        except ValueError:
            return False


def _local(column: str) -> tuple[str, str, int]:
    address, separator, port = column.rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise ObservedError(f"ss: {column!r:.60} is not address:port")
    address, _, interface = address.partition("%")
    if address.startswith("[") and address.endswith("]"):
        address = address[1:-1]
    if address != "*":
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError:
            raise ObservedError(f"ss: {address!r:.60} is not an address") from None
    return address, interface, int(port)


def parse_listeners(text: str) -> tuple[Listener, ...]:
    """``ss -Htuln``: the sockets listening for TCP and bound for UDP."""
    lines = text.splitlines()
    if len(lines) > MAX_LISTENERS:
        raise ObservedError(f"ss printed {len(lines)} sockets; more than expected")
    listeners = []
    for line in lines:
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 5 or fields[0] not in ("tcp", "udp"):
            raise ObservedError(f"ss: unexpected line {line!r:.80}")
        address, interface, port = _local(fields[4])
        listeners.append(Listener(fields[0], address, port, interface))
    return tuple(listeners)
