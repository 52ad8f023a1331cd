"""Contract fakes: what a provider function returns, for offline runs in ``up`` mode.

In a preview the lookups that need joined devices stay unknown (their hosts'
resources are not created yet). In ``up`` mode under the mock engine something
must answer them; these fakes answer exactly as the documented result shape
says, deterministically, and a test can still override them with ``call_results``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping
from typing import Any

from pulumi.runtime.mocks import MockCallArgs

GET_DEVICE = "tailscale:index/getDevice:getDevice"
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_TAILNET_V6 = ipaddress.IPv6Network("fd7a:115c:a1e0::/48")


def fake_device(args: MockCallArgs) -> Mapping[str, Any]:
    """A joined device named as asked, with stable tailnet addresses derived from its name.

    Keys are wire names (camelCase), as a provider returns them.
    """
    hostname = str(args.args.get("hostname") or args.args.get("name") or "device")
    number = int.from_bytes(hashlib.sha256(hostname.encode()).digest()[:4], "big")
    ipv4 = _CGNAT.network_address + 1 + number % (_CGNAT.num_addresses - 2)
    ipv6 = _TAILNET_V6.network_address + 1 + number
    return {
        "hostname": hostname,
        "name": f"{hostname}.fake.ts.net",
        "addresses": [str(ipv4), str(ipv6)],
        "id": f"fake-device-{number}",
        "nodeId": f"nFake{number}CNTRL",
        "authorized": True,
        "tags": [],
    }


GET_DEVICES = "tailscale:index/getDevices:getDevices"


def fake_devices(args: MockCallArgs) -> Mapping[str, Any]:
    """One online device matching the filters (hostname, tags), as getDevices lists it.

    Entry fields follow GetDevicesDeviceResult (pulumi-tailscale 0.29.x) in wire names.
    """
    wanted = {
        str(entry.get("name")): list(entry.get("values") or [])
        for entry in args.args.get("filters") or []
    }
    hostname = (wanted.get("hostname") or ["device"])[0]
    device = dict(fake_device(MockCallArgs(GET_DEVICE, {"hostname": hostname}, "")))
    device.update(tags=wanted.get("tags", []), created="2026-01-01T00:00:00Z", lastSeen="")
    return {"devices": [device], "filters": args.args.get("filters") or []}


CONTRACT_FAKES = {GET_DEVICE: fake_device, GET_DEVICES: fake_devices}
