"""Judging RelayMD's ``GET /healthz`` (pure), and fetching it (:func:`fetch`).

Response shape, from RelayMD 0.2.21 ``src/relaymd/orchestrator/main.py`` (``healthz``,
``_get_tailscale_status``): always HTTP 200 with ``{"status": "ok", "version",
"warnings": [...], "tailscale": {...}}``. ``tailscale`` is ``{"connected": true,
"hostname", "dns_name" (no trailing dot), "ips", "ip"}`` when the local tailscaled's
``BackendState`` is ``Running``, else ``{"connected": false, "error"}`` with a matching
entry in ``warnings``. A 200 alone therefore proves nothing: healthy means 200,
``status == "ok"``, ``tailscale.connected``, no warnings, and the expected names.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from infra.verify.inventory import HEALTHZ_TIMEOUT_SECONDS


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str


@dataclass(frozen=True)
class Expected:
    """Names the orchestrator must report; None means "not checked"."""

    hostname: str | None = None
    dns_name: str | None = None
    address: str | None = None
    """A tailnet IP the orchestrator must hold (when the URL names an address)."""


def expected_from_url_host(host: str) -> Expected:
    """What a bare URL promises: an IP the node holds, or its MagicDNS name (or first label)."""
    try:
        return Expected(address=str(ipaddress.ip_address(host)))
    except ValueError:
        pass
    if "." in host:
        return Expected(dns_name=host.rstrip("."))
    return Expected(hostname=host)


def judge(status: int, body: str, expected: Expected) -> Verdict:
    """Healthy, or the first thing wrong, in one line."""
    if status != 200:
        return Verdict(False, f"HTTP {status}, expected 200")
    try:
        document = json.loads(body)
    except ValueError:
        return Verdict(False, f"body is not JSON: {body[:80]!r}")
    if not isinstance(document, dict):
        return Verdict(False, "body is not a JSON object")
    if document.get("status") != "ok":
        return Verdict(False, f"status is {document.get('status')!r}, expected 'ok'")
    tailscale = document.get("tailscale")
    if not isinstance(tailscale, dict):
        return Verdict(False, "no 'tailscale' object in the body")
    if tailscale.get("connected") is not True:
        return Verdict(
            False, f"tailscale not connected: {tailscale.get('error', 'no error given')}"
        )
    warnings = document.get("warnings")
    if warnings != []:
        return Verdict(False, f"warnings present: {_one_line(warnings)}")
    return _names(tailscale, expected, document.get("version"))


def _names(tailscale: dict[str, Any], expected: Expected, version: object) -> Verdict:
    hostname = tailscale.get("hostname")
    dns_name = str(tailscale.get("dns_name", "")).rstrip(".")
    if expected.dns_name is not None and dns_name != expected.dns_name:
        return Verdict(False, f"dns_name is {dns_name!r}, expected {expected.dns_name!r}")
    if expected.hostname is not None:
        # MagicDNS renames a node whose name is taken (relaymd-orchestrator-1): the DNS
        # label is what workers' URLs use, so it must match as well as the OS hostname.
        label = dns_name.split(".", 1)[0]
        if hostname != expected.hostname or label != expected.hostname:
            return Verdict(
                False,
                f"hostname is {hostname!r} (MagicDNS label {label!r}), "
                f"expected {expected.hostname!r}",
            )
    if expected.address is not None and expected.address not in tailscale.get("ips", []):
        return Verdict(False, f"tailnet IPs {tailscale.get('ips')} lack {expected.address}")
    return Verdict(True, f"{dns_name or hostname} ({tailscale.get('ip')}), RelayMD {version}")


def _one_line(value: object) -> str:
    return " ".join(json.dumps(value).split())


# No proxy from the environment (http_proxy, ...): the verdict is about this machine's own
# path to the orchestrator, and the request must not leave for anywhere else.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url: str, timeout: float = HEALTHZ_TIMEOUT_SECONDS) -> tuple[int, str]:
    """HTTP status and body of ``url``; raises OSError when nothing (or no HTTP) answers."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return int(response.status), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode("utf-8", "replace")
    except http.client.HTTPException as error:  # e.g. sshd's banner on the port
        raise OSError(f"not an HTTP answer: {type(error).__name__} {error}") from None
