"""The skips a tester may accept by name (``scripts/verify --allow-skip NAME``).

A skipped check proves nothing, so any skip fails the run unless it is named here and the
tester names it on the command line. The checks (tests/infra) raise them with these names.
"""

from __future__ import annotations

SKIPS: dict[str, str] = {
    "no-worker": "the inventory names no worker-tagged test node: nothing is checked from a "
    "worker's side",
    "no-target": "a tag the policy's tests deny has no node other than the prober to probe "
    "(e.g. a single worker)",
    "no-ipv6": "the orchestrator reports no tailnet IPv6 address (IPv6 off on the host)",
    "no-lan-address": "the inventory gives no orchestrator.lan_address for the LAN checks",
    "udp-silent": "a UDP port other than DNS is denied: silence proves nothing, so it is not "
    "judged",
}
