"""Where the checks run: the hosts of ``$RELAYMD_INVENTORY`` (``scripts/verify``), or,
when it is unset, the namespaced topology built from the committed example render.

Tests are parameterized at collection time from the inventory's shape (its relays and
the policy's denies); for the topology that shape comes from the same render.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import testinfra

from infra.verify.artifacts import inventory_from_build
from infra.verify.inventory import Inventory, InventoryError, inventory_from_document
from tests.support.golden import GOLDEN

INVENTORY_VARIABLE = "RELAYMD_INVENTORY"


@cache
def planned_inventory() -> Inventory:
    """The inventory's shape, known before any host is reached."""
    path = os.environ.get(INVENTORY_VARIABLE)
    if path:
        return inventory_from_document(json.loads(Path(path).read_text()))
    document = inventory_from_build(
        "example", GOLDEN, outputs=json.loads((GOLDEN / "plan.json").read_text())["outputs"]
    )
    return inventory_from_document(document)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    wanted = [name for name in ("relay_name", "denied_index") if name in metafunc.fixturenames]
    if not wanted:
        return
    try:
        shape = planned_inventory()
    except InventoryError as error:
        metafunc.parametrize(wanted[0], [pytest.param(None, marks=pytest.mark.skip(str(error)))])
        return
    if "relay_name" in wanted:
        names = [relay.hostname for relay in shape.relays]
        metafunc.parametrize("relay_name", names, ids=names)
    if "denied_index" in wanted:
        labels = [probe.label for probe in shape.denied_from_workers]
        metafunc.parametrize("denied_index", range(len(labels)), ids=labels)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """One xdist group per checked host, so ``--dist loadgroup`` spreads hosts over workers."""
    for item in items:
        if Path(str(item.fspath)).parent != Path(__file__).parent:
            continue
        relay = item.callspec.params.get("relay_name") if hasattr(item, "callspec") else None
        group = f"relay-{relay}" if relay else Path(str(item.fspath)).stem
        item.add_marker(pytest.mark.xdist_group(group))
        item.add_marker(pytest.mark.netns)


@pytest.fixture(scope="session")
def inventory(request: pytest.FixtureRequest) -> Inventory:
    if os.environ.get(INVENTORY_VARIABLE):
        return planned_inventory()
    built: Inventory | None = request.getfixturevalue("topology").inventory
    assert built is not None
    return built


@pytest.fixture(scope="session")
def host_for(inventory: Inventory) -> Callable[[str], Any]:
    def get(spec: str) -> Any:
        options: dict[str, Any] = {"sudo": inventory.sudo}
        if inventory.ssh_config and spec.startswith("ssh://"):
            options["ssh_config"] = inventory.ssh_config
        return testinfra.get_host(spec, **options)

    return get
