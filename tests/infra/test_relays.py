"""On each relay (ssh backend)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.verify.inventory import Inventory, Relay
from tests.infra import checks


def _relay(inventory: Inventory, name: str) -> Relay:
    return next(relay for relay in inventory.relays if relay.hostname == name)


def test_tailscaled_running_with_relay_tag(
    inventory: Inventory, host_for: Callable[[str], Any], relay_name: str
) -> None:
    relay = _relay(inventory, relay_name)
    checks.check_tailscaled(host_for(relay.host), relay, inventory.budget_seconds)


def test_dnsmasq_answers_internal_domain(
    inventory: Inventory, host_for: Callable[[str], Any], relay_name: str
) -> None:
    relay = _relay(inventory, relay_name)
    host = host_for(relay.host)
    checks.check_dnsmasq_answers(host, relay, checks.tailnet_ip(host, relay), inventory)


def test_infisical_relay_up_only_when_enabled(
    inventory: Inventory, host_for: Callable[[str], Any], relay_name: str
) -> None:
    relay = _relay(inventory, relay_name)
    checks.check_infisical_relay(host_for(relay.host), relay, inventory)
