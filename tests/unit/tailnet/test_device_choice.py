"""Choosing a host's tailnet device among every device the list returns."""

from __future__ import annotations

import pytest

from infra.tailnet.device_choice import (
    AmbiguousDeviceError,
    NoDeviceError,
    SeenDevice,
    host_device,
    seen_device,
)

TAG = "tag:relaymd-relay"


def device(node: str, created: str, *, online: bool, tags: tuple[str, ...] = (TAG,)) -> SeenDevice:
    return SeenDevice(
        node_id=node,
        hostname="relay",
        tags=tags,
        created=created,
        last_seen=None if online else "2026-01-02T00:00:00Z",
        addresses=("100.64.0.2",),
    )


def test_the_newest_device_wins_over_an_older_registration() -> None:
    old = device("old", "2025-01-01T00:00:00Z", online=False)
    new = device("new", "2026-01-01T00:00:00Z", online=True)
    assert host_device("relay", TAG, [new, old]) == new
    assert host_device("relay", TAG, [old, new]) == new


def test_devices_without_the_hosts_tag_or_name_are_ignored() -> None:
    mine = device("mine", "2025-01-01T00:00:00Z", online=True)
    untagged = device("untagged", "2027-01-01T00:00:00Z", online=True, tags=("tag:other",))
    renamed = SeenDevice("renamed", "relay-1", (TAG,), "2027-01-01T00:00:00Z", None, ())
    assert host_device("relay", TAG, [mine, untagged, renamed]) == mine


@pytest.mark.parametrize(
    ("seen", "error", "named"),
    [
        pytest.param(
            [
                device("b", "2025-01-01T00:00:00Z", online=True),
                device("a", "2026-01-01", online=True),
            ],
            AmbiguousDeviceError,
            r"\(a, b\)",
            id="two online devices are refused naming both",
        ),
        pytest.param(
            [device("x", "2025", online=True, tags=())],
            NoDeviceError,
            "relay",
            id="no matching device is an error",
        ),
    ],
)
def test_a_host_without_exactly_one_device_is_an_error(
    seen: list[SeenDevice], error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named):
        host_device("relay", TAG, seen)


def test_entries_are_read_from_typed_results_or_mappings() -> None:
    entry = {"node_id": "n", "hostname": "h", "tags": [TAG], "created": "c", "last_seen": ""}
    seen = seen_device(entry)
    assert seen.online and seen.tags == (TAG,) and seen.addresses == ()
