"""The Infisical catalog diff: names added or removed, required/optional, consumers.

The catalog holds names and provenance only; this module never sees a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CatalogDiff:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    """One line per changed attribute of an entry present on both sides."""
    consumers_affected: tuple[str, ...]
    location: tuple[str, ...]
    """Changes to where the catalog lives (project, environment, secret path) and to the
    storage provider that decides which storage names are required."""


def _entries(catalog: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    secrets = (catalog or {}).get("secrets")
    if not isinstance(secrets, list):
        return {}
    return {str(e["name"]): e for e in secrets if isinstance(e, Mapping) and "name" in e}


def _need(entry: Mapping[str, Any]) -> str:
    return "required" if entry.get("required") else "optional"


def _consumers(entry: Mapping[str, Any]) -> list[str]:
    consumers = entry.get("consumers")
    return [str(c) for c in consumers] if isinstance(consumers, list) else []


def _describe(name: str, entry: Mapping[str, Any]) -> str:
    readers = ", ".join(_consumers(entry)) or "no consumer"
    return f"{name} ({_need(entry)}, read by {readers}, source {entry.get('source', '?')})"


def diff_catalog(base: Mapping[str, Any] | None, head: Mapping[str, Any] | None) -> CatalogDiff:
    old, new = _entries(base), _entries(head)
    affected: set[str] = set()
    changed = []
    for name in sorted(old.keys() & new.keys()):
        before, after = old[name], new[name]
        if _need(before) != _need(after):
            readers = ", ".join(_consumers(after)) or "no consumer"
            changed.append(f"{name}: {_need(before)} → {_need(after)} (read by {readers})")
            affected.update(_consumers(after))
        gained = sorted(set(_consumers(after)) - set(_consumers(before)))
        lost = sorted(set(_consumers(before)) - set(_consumers(after)))
        if gained or lost:
            parts = [f"now read by {', '.join(gained)}"] if gained else []
            parts += [f"no longer read by {', '.join(lost)}"] if lost else []
            changed.append(f"{name}: {'; '.join(parts)}")
            affected.update(gained + lost)
        if before.get("source") != after.get("source"):
            changed.append(f"{name}: source {before.get('source')} → {after.get('source')}")
            affected.update(_consumers(after))
    for name in old.keys() ^ new.keys():
        affected.update(_consumers(old.get(name) or new[name]))
    location = [
        f"{key}: {(base or {}).get(key)} → {(head or {}).get(key)}"
        for key in ("project_id", "environment", "secret_path", "storage_provider")
        if (base or {}).get(key) != (head or {}).get(key)
    ]
    return CatalogDiff(
        added=tuple(_describe(n, new[n]) for n in sorted(new.keys() - old.keys())),
        removed=tuple(_describe(n, old[n]) for n in sorted(old.keys() - new.keys())),
        changed=tuple(changed),
        consumers_affected=tuple(sorted(affected)),
        location=tuple(location),
    )
