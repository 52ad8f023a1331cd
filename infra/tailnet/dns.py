"""DNS decisions: split DNS per internal domain, and picking a device's tailnet IPv4."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from infra.config.hosts import RelayHost


@dataclass(frozen=True)
class SplitDomain:
    domain: str
    resolvers: tuple[str, ...]
    """HostSpec names of the relays that answer for the domain."""

    @property
    def resource_name(self) -> str:
        return f"split-dns-{self.domain}"


def split_domains(relays: Sequence[RelayHost]) -> tuple[SplitDomain, ...]:
    """One entry per internal domain; relays sharing a domain all serve it."""
    by_domain: dict[str, list[str]] = {}
    for host in relays:
        by_domain.setdefault(host.relay.internal_domain, []).append(host.name)
    return tuple(SplitDomain(domain, tuple(names)) for domain, names in sorted(by_domain.items()))


class NoTailnetAddressError(LookupError):
    pass


def tailnet_ipv4(hostname: str, addresses: Sequence[str] | None) -> str:
    """The device's 100.x address: split DNS nameservers are given as IPv4 here."""
    for address in addresses or ():
        if isinstance(ipaddress.ip_address(address), ipaddress.IPv4Address):
            return address
    raise NoTailnetAddressError(
        f"tailnet device {hostname!r} has no IPv4 address (got {list(addresses or [])}); "
        "is IPv4 disabled in the tailnet policy?"
    )
