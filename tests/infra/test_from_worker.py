"""From a worker-tagged node: the orchestrator answers, and nothing else does."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infra.verify.inventory import Inventory
from tests.infra import checks


@pytest.fixture(scope="module")
def worker(inventory: Inventory, host_for: Callable[[str], Any]) -> Any:
    if not inventory.workers:
        pytest.skip("the inventory names no worker-tagged test node (workers[0])")
    return host_for(inventory.workers[0].host)


@pytest.fixture(scope="module")
def orchestrator_ip(inventory: Inventory, host_for: Callable[[str], Any]) -> str:
    return checks.tailnet_ip(host_for(inventory.orchestrator.host), inventory.orchestrator)


@pytest.fixture(scope="module")
def tailnet_ips(inventory: Inventory, host_for: Callable[[str], Any]) -> dict[str, str]:
    """Every node's tailnet IP but the probing worker's, read once, from all nodes at once."""
    nodes = [node for node in inventory.nodes() if node != inventory.workers[0]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        addresses = pool.map(lambda node: checks.tailnet_ip(host_for(node.host), node), nodes)
        return {node.hostname: address for node, address in zip(nodes, addresses, strict=True)}


@pytest.fixture(scope="module")
def first_verdicts(
    worker: Any, inventory: Inventory, tailnet_ips: dict[str, str]
) -> dict[str, str]:
    """All denied destinations probed at once: each test then judges its own."""
    specs: list[str] = []
    for denied in inventory.denied_from_workers:
        specs += checks.denied_specs(
            inventory, _targets(inventory, tailnet_ips, denied.tag), denied
        )
    return checks.probe(worker, inventory.probe_timeout_seconds, specs) if specs else {}


def _targets(inventory: Inventory, tailnet_ips: dict[str, str], tag: str) -> dict[str, str]:
    return {
        node.hostname: tailnet_ips[node.hostname]
        for node in inventory.nodes()
        if node.tag == tag and node.hostname in tailnet_ips
    }


def test_worker_is_worker_tagged(worker: Any, inventory: Inventory) -> None:
    checks.check_tailscaled(worker, inventory.workers[0], inventory.budget_seconds)


def test_magicdns_name_resolves_or_falls_back(
    worker: Any, inventory: Inventory, orchestrator_ip: str
) -> None:
    via = checks.check_magicdns(worker, inventory, orchestrator_ip)
    assert via in ("magicdns", "fallback")


def test_healthz_is_healthy(worker: Any, inventory: Inventory, orchestrator_ip: str) -> None:
    via = checks.check_magicdns(worker, inventory, orchestrator_ip)
    checks.check_healthz(worker, inventory, orchestrator_ip, via)


def test_healthz_is_healthy_over_ipv6(
    worker: Any, inventory: Inventory, host_for: Callable[[str], Any]
) -> None:
    """RelayMD listens on IPv4; its IPv6 socket forwards the tailnet IPv6 address to it."""
    node = inventory.orchestrator
    address = checks.tailnet_ipv6(host_for(node.host), node)
    if address is None:
        pytest.skip(f"{node.hostname} reports no tailnet IPv6 address (IPv6 off on the host)")
    checks.check_healthz_ipv6(worker, inventory, address)


def test_denied_destination_is_filtered(
    worker: Any,
    inventory: Inventory,
    tailnet_ips: dict[str, str],
    first_verdicts: dict[str, str],
    denied_index: int,
) -> None:
    denied = inventory.denied_from_workers[denied_index]
    targets = _targets(inventory, tailnet_ips, denied.tag)
    if not targets:
        pytest.skip(f"no node other than the probing worker carries {denied.tag}")
    checks.check_filtered(worker, inventory, targets, denied, first_verdicts)
