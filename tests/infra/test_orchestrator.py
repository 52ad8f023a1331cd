"""On the orchestrator (ssh backend), and its LAN side."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.verify.inventory import Inventory
from tests.infra import checks


@pytest.fixture(scope="module")
def orchestrator(inventory: Inventory, host_for: Callable[[str], Any]) -> Any:
    return host_for(inventory.orchestrator.host)


def test_tailscaled_active_and_running(orchestrator: Any, inventory: Inventory) -> None:
    checks.check_tailscaled(orchestrator, inventory.orchestrator, inventory.budget_seconds)


def test_node_tagged_and_not_ephemeral(orchestrator: Any, inventory: Inventory) -> None:
    checks.check_tailscaled(orchestrator, inventory.orchestrator, inventory.budget_seconds)
    checks.check_not_ephemeral(orchestrator, inventory)


def test_relaymd_unit_active(orchestrator: Any, inventory: Inventory) -> None:
    checks.unit_active(orchestrator, inventory.orchestrator.hostname, inventory.orchestrator.unit)


def test_api_port_closed_on_lan(inventory: Inventory, host_for: Callable[[str], Any]) -> None:
    if not inventory.orchestrator.lan_address:
        pytest.skip("the inventory gives no orchestrator.lan_address")
    checks.check_api_closed_on_lan(host_for(inventory.lan_probe), inventory)
