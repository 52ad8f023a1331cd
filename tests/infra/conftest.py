"""The suite ``scripts/verify --stack`` runs: the hosts of ``$RELAYMD_INVENTORY``.

One test item per check of the plan (plan.py), in the order a tester reads them, made from
the inventory's shape before any host is reached. The engine judges them in per-host threads
as soon as the session starts; each item waits for its own verdict, so lines come out as
checks finish, host by host.

Without ``$RELAYMD_INVENTORY`` the items are deselected: tests/harness drives the whole run
through ``scripts/verify`` against namespaced hosts instead (docs/testing.md).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path

import pytest

from infra.ground.contract import INVENTORY_VARIABLE
from infra.verify.inventory import Inventory, inventory_from_document
from tests.infra.engine import Engine
from tests.infra.plan import plan, run
from tests.infra.remote import Connector

HERE = Path(__file__).resolve().parent


@cache
def planned_inventory() -> Inventory | None:
    path = os.environ.get(INVENTORY_VARIABLE)
    if not path:
        return None
    return inventory_from_document(json.loads(Path(path).read_text(encoding="utf-8")))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "check_id" not in metafunc.fixturenames:
        return
    inventory = planned_inventory()
    ids = [check.id for check in plan(inventory)] if inventory else ["no-inventory"]
    metafunc.parametrize("check_id", ids, ids=ids)


def _ours(item: pytest.Item) -> bool:
    return Path(str(item.fspath)).parent == HERE


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if planned_inventory() is not None:
        return
    dropped = [item for item in items if _ours(item)]
    if dropped:
        items[:] = [item for item in items if not _ours(item)]
        config.hook.pytest_deselected(items=dropped)


@pytest.fixture(scope="session")
def inventory() -> Inventory:
    found = planned_inventory()
    assert found is not None, f"{INVENTORY_VARIABLE} names no inventory"
    return found


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest, inventory: Inventory) -> Iterator[Engine]:
    selected = [
        item.callspec.params["check_id"]
        for item in request.session.items
        if _ours(item) and hasattr(item, "callspec")
    ]
    with tempfile.TemporaryDirectory(prefix="relaymd-verify-ssh-") as private:
        Path(private).chmod(0o700)
        connector = Connector(Path(private), inventory.ssh_config, inventory.sudo)
        started = Engine(inventory, connector)
        run(started, selected)
        try:
            yield started
        finally:
            started.close()
            connector.close()


@pytest.fixture(scope="session", autouse=True)
def _suite_properties(
    record_testsuite_property: Callable[[str, object], None], inventory: Inventory
) -> None:
    """The JUnit suite says which stack and hosts it checked."""
    record_testsuite_property("stack", inventory.stack)
    for node in inventory.nodes():
        record_testsuite_property(f"host.{node.hostname}", f"{node.host} ({node.tag})")
    record_testsuite_property("host.LAN probe", inventory.lan_probe)
