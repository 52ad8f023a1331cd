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


CONTRACT_FAKES = {GET_DEVICE: fake_device}
