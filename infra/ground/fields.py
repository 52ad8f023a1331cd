"""Reusable field validators: each names what it expects, so errors can say it."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, PlainValidator
from pydantic_core import PydanticCustomError

# Control characters (C0, DEL and C1) and the Unicode line and paragraph separators: each
# starts a new line for some reader (systemd, Python's splitlines, a terminal).
CONTROL_CHARACTERS = "\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029"
"""A regex character-class body (without brackets)."""
DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_DNS_NAME = re.compile(
    r"(?=.{1,253}\Z)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*"
)
_TAG = re.compile(r"tag:[a-z0-9-]+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_AUTOGROUPS = frozenset(
    {"autogroup:admin", "autogroup:owner", "autogroup:it-admin", "autogroup:network-admin"}
)
# user@host for ssh; the host part may be a DNS name or an IP address.
_SSH_TARGET = re.compile(r"[a-z_][a-z0-9_-]{0,31}@[A-Za-z0-9.:-]+")
# registry/path:tag or @digest; no spaces, quotes or shell/Nix metacharacters.
# "latest" is a tag but pins nothing: every pull may bring another image.
_IMAGE = re.compile(
    r"[a-z0-9.-]+(:(?P<port>[0-9]{1,5}))?(/[a-z0-9._-]+)+"
    r"(:(?!latest$)[A-Za-z0-9._-]{1,128}|@sha256:[0-9a-f]{64})"
)
# Each segment is a name, never "." or "..", so the path means what it says.
_ABS_PATH = re.compile(r"(/(?!\.\.?(/|$))[A-Za-z0-9._-]+)+/?")
_SECRET_PATH = re.compile(r"/([A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*)?")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_PROXMOX_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_DATASTORE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,99}")
# An OpenSSH public key line. The comment may hold any printable text (it is rendered
# through the Nix string filter); control characters such as a newline would smuggle a
# second key into authorized_keys, so they are refused.
_SSH_PUBLIC_KEY = re.compile(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
    r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]{16,}={0,3}"
    f"( [^{CONTROL_CHARACTERS}]{{1,200}})?"
)
# A hardware configuration kept in the repository, named relative to the project root.
_NIXOS_HARDWARE_FILE = re.compile(r"nixos/hardware/[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.nix")
_HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(:(?P<port>[0-9]{1,5}))?(/[A-Za-z0-9._~/-]*)?")
_PLAIN_TEXT = re.compile(f"[^{CONTROL_CHARACTERS}]{{1,1024}}")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:(?P<port>[0-9]{1,5})")
_NIXOS_RELEASE = re.compile(r"[0-9]{2}\.(05|11)")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The host key the deployment pins: sshd on every host offers exactly one ED25519 key.
_SSH_ED25519_HOST_KEY = re.compile(
    r"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]{48}"
    f"( [^{CONTROL_CHARACTERS}]{{1,200}})?"
)


def is_ssh_public_key(text: str) -> bool:
    """One OpenSSH public key line (a host key to pin, an authorized key), nothing more."""
    return _SSH_PUBLIC_KEY.fullmatch(text) is not None


def _fail(expected: str) -> PydanticCustomError:
    return PydanticCustomError("relaymd_value", "{expected}", {"expected": expected})


def _matching(pattern: re.Pattern[str], expected: str) -> AfterValidator:
    # fullmatch: with match(), "$" also accepts a trailing newline, which would end up in
    # file names, URLs and rendered Nix text.
    def check(value: str) -> str:
        found = pattern.fullmatch(value)
        if not found:
            raise _fail(expected)
        # Patterns that admit a port capture it as "port": it must name a real TCP port.
        port = found.groupdict().get("port")
        if port is not None and not 1 <= int(port) <= 65535:
            raise _fail(f"a port between 1 and 65535 (got {port}); {expected}")
        return value

    check.__doc__ = expected  # what the configuration reference says the type accepts
    return AfterValidator(check)


# Addresses become ipaddress values here, once: nothing past the edge parses them again.


def _ipv4_interface(value: object) -> ipaddress.IPv4Interface:
    """an IPv4 host address with prefix length (not the network address), e.g. 10.100.10.2/24"""
    if isinstance(value, ipaddress.IPv4Interface):
        return value
    try:
        interface = ipaddress.IPv4Interface(_text(value))
    except ValueError:
        raise _fail("an IPv4 address with prefix length, e.g. 10.100.10.2/24") from None
    if "/" not in _text(value) or interface.ip == interface.network.network_address:
        raise _fail(
            "a host address with prefix length (not the network address), e.g. 10.100.10.2/24"
        )
    return interface


def _ipv4_address(value: object) -> ipaddress.IPv4Address:
    """an IPv4 address, e.g. 10.100.10.1"""
    if isinstance(value, ipaddress.IPv4Address):
        return value
    try:
        return ipaddress.IPv4Address(_text(value))
    except ValueError:
        raise _fail("an IPv4 address, e.g. 10.100.10.1") from None


def _ipv4_network(value: object) -> ipaddress.IPv4Network:
    """an IPv4 network in CIDR form with no host bits set, e.g. 10.100.10.0/24"""
    if isinstance(value, ipaddress.IPv4Network):
        return value
    try:
        return ipaddress.IPv4Network(_text(value), strict=True)
    except ValueError:
        raise _fail(
            "an IPv4 network in CIDR form with no host bits set, e.g. 10.100.10.0/24"
        ) from None


def _text(value: object) -> str:
    # ipaddress also reads integers and bytes; a stack file writes addresses as text only.
    if not isinstance(value, str):
        raise ValueError(value)
    return value


@dataclass(frozen=True)
class SshLogin:
    """Who logs in where: ``user@host``, split once at the edge."""

    user: str
    host: str

    def __str__(self) -> str:
        return f"{self.user}@{self.host}"


def _ssh_login(value: object) -> SshLogin:
    """user@host, e.g. admin@orchestrator.lan"""
    if isinstance(value, SshLogin):
        return value
    if not isinstance(value, str) or not _SSH_TARGET.fullmatch(value):
        raise _fail("user@host, e.g. admin@orchestrator.lan")
    user, host = value.split("@", 1)
    return SshLogin(user, host)


_DEFAULT_ROUTES = "0.0.0.0/0 or ::/0"
TAILNET_RANGES = (
    ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("fd7a:115c:a1e0::/48"),
)
"""The tailnet's own addresses (Tailscale's CGNAT range and ULA prefix)."""


def _advertised_route(value: object) -> ipaddress.IPv4Network:
    """an internal IPv4 subnet in CIDR form, e.g. 10.100.10.0/24: no default route, nothing
    inside the tailnet's own 100.64.0.0/10 or fd7a:115c:a1e0::/48"""
    # A relay advertises internal subnets. A default route would make it an exit node for
    # every admin, and a route over the tailnet's own range would hijack tailnet traffic.
    if isinstance(value, ipaddress.IPv4Network):
        value = str(value)
    try:
        network = ipaddress.ip_network(_text(value), strict=True)
    except ValueError:
        raise _fail(
            "an IPv4 network in CIDR form with no host bits set, e.g. 10.100.10.0/24"
        ) from None
    if network.prefixlen == 0:
        raise _fail(f"an internal subnet, not a default route ({_DEFAULT_ROUTES})")
    for tailnet_range in TAILNET_RANGES:
        if network.version == tailnet_range.version and network.overlaps(tailnet_range):
            raise _fail(f"a subnet outside the tailnet's own range {tailnet_range}")
    if not isinstance(network, ipaddress.IPv4Network):
        raise _fail("an IPv4 network in CIDR form, e.g. 10.100.10.0/24")
    return network


_TAG_OWNER = (
    "a user's e-mail address or one of "
    + ", ".join(sorted(_AUTOGROUPS))
    + " (this policy declares no groups or other tags, so group: and tag: owners "
    "would be undefined)"
)


def _tag_owner(value: str) -> str:
    # The Acl resource owns the whole policy and declares no groups and no tags beyond
    # RelayMD's, so a group: or tag: owner would be undefined and the policy rejected.
    if value in _AUTOGROUPS or _EMAIL.fullmatch(value):
        return value
    raise _fail(_TAG_OWNER)


_tag_owner.__doc__ = _TAG_OWNER


def _not_a_boolean(value: object) -> object:
    """a whole number, not true/false"""
    # Lax parsing would read `vlan: true` as VLAN 1 and `port: yes` as port 1.
    if isinstance(value, bool):
        raise _fail("a whole number, not true/false")
    return value


WholeNumber = Annotated[int, BeforeValidator(_not_a_boolean)]
"""An int that refuses booleans; numbers written as text ("100") still parse."""

DnsLabel = Annotated[
    str,
    _matching(DNS_LABEL, "a DNS label: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'"),
]
DnsName = Annotated[
    str,
    _matching(
        _DNS_NAME,
        "a lower-case DNS name made of labels separated by dots, e.g. internal or tail1234.ts.net",
    ),
]
Tag = Annotated[str, _matching(_TAG, "a tag of the form tag:[a-z0-9-]+, e.g. tag:relaymd-worker")]
TagOwner = Annotated[str, AfterValidator(_tag_owner)]
SshTarget = Annotated[SshLogin, PlainValidator(_ssh_login)]
ContainerImage = Annotated[
    str,
    _matching(
        _IMAGE,
        "a pinned image reference registry/path:tag (not latest) or @sha256:<digest>, e.g. "
        "ghcr.io/example-org/relaymd-orchestrator:sha-4f1c2d9",
    ),
]
AbsolutePath = Annotated[
    str,
    _matching(
        _ABS_PATH,
        "an absolute path of letters, digits, '.', '_' and '-' with no . or .. segments, "
        "e.g. /var/lib/relaymd",
    ),
]
SecretPath = Annotated[str, _matching(_SECRET_PATH, "an Infisical folder path, e.g. /RelayMD")]
Slug = Annotated[str, _matching(_SLUG, "a slug of a-z, 0-9 and '-', e.g. prod")]
ProxmoxName = Annotated[str, _matching(_PROXMOX_NAME, "a Proxmox node name, e.g. proxmox")]
DatastoreId = Annotated[str, _matching(_DATASTORE, "a Proxmox datastore id, e.g. local-lvm")]
HttpsUrl = Annotated[str, _matching(_HTTPS_URL, "an https:// URL, e.g. https://app.infisical.com")]
Uuid = Annotated[
    str, _matching(_UUID, "a lower-case UUID, e.g. 3f1c2a9e-5b7d-4c1e-9a2b-7d4e6f8a0b1c")
]
Ipv4Interface = Annotated[ipaddress.IPv4Interface, PlainValidator(_ipv4_interface)]
Ipv4Address = Annotated[ipaddress.IPv4Address, PlainValidator(_ipv4_address)]
Ipv4Network = Annotated[ipaddress.IPv4Network, PlainValidator(_ipv4_network)]
HostPort = Annotated[str, _matching(_HOST_PORT, "host:port, e.g. 10.100.10.9:8443")]
PlainText = Annotated[
    str, _matching(_PLAIN_TEXT, "1-1024 characters without control characters such as a newline")
]
"""Free text that still ends up in a file name, an API call or a log line."""
AdvertisedRoute = Annotated[ipaddress.IPv4Network, PlainValidator(_advertised_route)]
"""An internal IPv4 subnet a relay advertises: no default route, nothing of the tailnet's."""
SshPublicKey = Annotated[
    str,
    _matching(
        _SSH_PUBLIC_KEY,
        "one OpenSSH public key line 'TYPE BASE64 [comment]' without control characters, "
        "e.g. ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA... alice@example.org",
    ),
]
NixosRelease = Annotated[
    str, _matching(_NIXOS_RELEASE, "a NixOS release YY.05 or YY.11, e.g. 26.05")
]
SshHostKey = Annotated[
    str,
    _matching(
        _SSH_ED25519_HOST_KEY,
        "the host's ED25519 public host key, as printed by "
        "`ssh-keyscan -t ed25519 HOST` without the host name "
        "(or /etc/ssh/ssh_host_ed25519_key.pub), e.g. ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...",
    ),
]
NixosHardwareFile = Annotated[
    str,
    _matching(
        _NIXOS_HARDWARE_FILE,
        "a file under nixos/hardware/ in this repository, e.g. nixos/hardware/orchestrator.nix "
        "(copy the host's /etc/nixos/hardware-configuration.nix there)",
    ),
]
