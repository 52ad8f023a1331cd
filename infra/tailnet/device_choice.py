"""Which tailnet device is a host's: pure, so reinstalls and stale devices are testable.

A lookup by hostname alone returns the first match, which after a reinstall can be the old,
dead device (terraform-provider-tailscale v0.29.2, data_source_device.go). The devices
data source lists every match instead; this module picks the newest one carrying the host's
tag, and refuses to guess when two of them are online at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SeenDevice:
    """The fields of the devices data source's entries (GetDevicesDeviceResult) used here."""

    node_id: str
    hostname: str
    tags: tuple[str, ...]
    created: str
    """RFC 3339 with a fixed UTC offset, as the API returns it: text order is time order."""
    last_seen: str | None
    """Empty while the device is connected to the control plane (model_device.go)."""
    addresses: tuple[str, ...]

    @property
    def online(self) -> bool:
        return not self.last_seen


class AmbiguousDeviceError(LookupError):
    pass


class NoDeviceError(LookupError):
    pass


def seen_device(entry: Mapping[str, Any] | Any) -> SeenDevice:
    """Read one entry, whether the SDK handed a typed result or a plain mapping."""

    def field(name: str) -> Any:
        return entry.get(name) if isinstance(entry, Mapping) else getattr(entry, name, None)

    return SeenDevice(
        node_id=str(field("node_id") or ""),
        hostname=str(field("hostname") or ""),
        tags=tuple(field("tags") or ()),
        created=str(field("created") or ""),
        last_seen=field("last_seen") or None,
        addresses=tuple(field("addresses") or ()),
    )


def host_device(hostname: str, tag: str, devices: Iterable[SeenDevice]) -> SeenDevice:
    """The newest device named ``hostname`` with ``tag``; two online ones are an error."""
    matching = [d for d in devices if d.hostname == hostname and tag in d.tags]
    if not matching:
        raise NoDeviceError(
            f"no tailnet device named {hostname!r} carries {tag}: did the host join with "
            "its own key?"
        )
    online = [device for device in matching if device.online]
    if len(online) > 1:
        raise AmbiguousDeviceError(
            f"{len(online)} online tailnet devices are named {hostname!r} with {tag} "
            f"({_ids(online)}): remove the stale one in the admin console, then run again"
        )
    return max(matching, key=lambda device: (device.created, device.node_id))


def _ids(devices: Sequence[SeenDevice]) -> str:
    return ", ".join(sorted(device.node_id for device in devices))
