"""The resource diff: created, deleted, replaced and updated, with the inputs that moved.

Resources are matched by (type, name), which is how Pulumi's URNs tell them apart. Any type
is handled: inputs are compared leaf by leaf, and the replacement table decides whether a
change replaces the resource or updates it in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from infra.ground.contract import VM_TYPE
from infra.ground.project import PROJECT
from infra.review.replacement import (
    FOLLOWERS,
    REPLACED_WITH_VM,
    RETAINED_ON_DELETE,
    Replacement,
    replacements,
)
from infra.review.values import ABSENT, leaves, natural


class Action(StrEnum):
    CREATE = "created"
    DELETE = "deleted"
    REPLACE = "replaced"
    UPDATE = "updated"


ACTION_ORDER = (Action.REPLACE, Action.DELETE, Action.CREATE, Action.UPDATE)


@dataclass(frozen=True)
class InputChange:
    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class ResourceChange:
    action: Action
    type: str
    name: str
    parent: str | None
    changes: tuple[InputChange, ...] = ()
    replaced_by: tuple[Replacement, ...] = ()
    replaced_with: tuple[str, ...] = ()
    """Why a companion is replaced: the VM it goes with, and what that means."""
    urn: str = ""
    """The resource's URN, for commands such as ``pulumi up --replace``."""
    follows: tuple[str, ...] = ()
    """Why it updates although its rendered inputs do not move: the replacement it follows."""

    @property
    def key(self) -> tuple[str, str]:
        return (self.type, self.name)

    @property
    def retained(self) -> str | None:
        """What keeping it means, when replacing or deleting it leaves the real object in
        place (``retain_on_delete``)."""
        return RETAINED_ON_DELETE.get(self.key)

    @property
    def short_type(self) -> str:
        """``proxmoxve:index/vmLegacy:VmLegacy`` → ``VmLegacy``."""
        return self.type.rsplit(":", 1)[-1]


Resource = Mapping[str, Any]


def index_resources(plan: Mapping[str, Any]) -> dict[tuple[str, str], Resource]:
    """plan.json's resources by (type, name), the key of a ResourceChange."""
    return {
        (str(r.get("type")), str(r.get("name"))): r
        for r in plan.get("resources", [])
        if isinstance(r, Mapping)
    }


def input_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[InputChange, ...]:
    old_leaves, new_leaves = leaves(old), leaves(new)
    return tuple(
        InputChange(path, old_leaves.get(path, ABSENT), new_leaves.get(path, ABSENT))
        for path in sorted(old_leaves.keys() | new_leaves.keys())
        if old_leaves.get(path, ABSENT) != new_leaves.get(path, ABSENT)
    )


def _inputs(resource: Resource) -> Mapping[str, Any]:
    inputs = resource.get("inputs")
    return inputs if isinstance(inputs, Mapping) else {}


def urn(plan: Mapping[str, Any], key: tuple[str, str]) -> str:
    """``urn:pulumi:<stack>::<project>::<ancestor types and type, $-joined>::<name>``.

    As the engine builds it (pulumi pkg/resource/deploy/deployment.go, generateURN): every
    ancestor's type, the root stack left out. Parents are named in plan.json; a parent name
    shared by two resources makes the URN unknown (empty).
    """
    by_name: dict[str, list[Resource]] = {}
    for resource in plan.get("resources", []):
        by_name.setdefault(str(resource.get("name")), []).append(resource)
    types = [key[0]]
    parent = next(
        (r.get("parent") for r in by_name.get(key[1], []) if r.get("type") == key[0]), None
    )
    while parent is not None:
        found = by_name.get(str(parent), [])
        if len(found) != 1:
            return ""
        types.insert(0, str(found[0].get("type")))
        parent = found[0].get("parent")
    return f"urn:pulumi:{plan.get('stack')}::{PROJECT}::{'$'.join(types)}::{key[1]}"


def diff_resources(base: Mapping[str, Any], head: Mapping[str, Any]) -> tuple[ResourceChange, ...]:
    """Every resource that changes, in a stable order (action, type, name)."""
    old, new = index_resources(base), index_resources(head)
    changes: dict[tuple[str, str], ResourceChange] = {}
    for key in sorted(old.keys() - new.keys()):
        changes[key] = ResourceChange(Action.DELETE, *key, old[key].get("parent"))
    for key in sorted(new.keys() - old.keys()):
        changes[key] = ResourceChange(Action.CREATE, *key, new[key].get("parent"))
    for key in sorted(old.keys() & new.keys()):
        moved = input_changes(_inputs(old[key]), _inputs(new[key]))
        if not moved:
            continue
        found = replacements(key[0], [c.path for c in moved], _inputs(new[key]))
        action = Action.REPLACE if found else Action.UPDATE
        changes[key] = ResourceChange(
            action, *key, new[key].get("parent"), moved, found, urn=urn(head, key)
        )
    for companion_key, reason in list(_companions(changes.values(), new)):
        current = changes.get(companion_key)
        if current is None or current.action is Action.UPDATE:
            resource = new[companion_key]
            changes[companion_key] = ResourceChange(
                Action.REPLACE,
                *companion_key,
                resource.get("parent"),
                current.changes if current else (),
                (),
                (reason,),
            )
    for follower_key, reason in list(_followers(changes.values(), base, head)):
        if follower_key not in new:
            continue
        current = changes.get(follower_key)
        if current is None:
            resource = new[follower_key]
            current = ResourceChange(Action.UPDATE, *follower_key, resource.get("parent"))
        changes[follower_key] = dataclasses.replace(current, follows=(reason,))
    return tuple(
        sorted(
            changes.values(),
            key=lambda c: (ACTION_ORDER.index(c.action), c.type, natural(c.name)),
        )
    )


def _companions(
    changes: Iterable[ResourceChange], head: Mapping[tuple[str, str], Resource]
) -> Iterable[tuple[tuple[str, str], str]]:
    """Resources replaced together with a replaced VM (project rule, see replacement.py)."""
    for change in changes:
        if change.action is not Action.REPLACE or change.type != VM_TYPE:
            continue
        host = _inputs(head[change.key]).get("name")
        for companion in REPLACED_WITH_VM:
            key = (companion.type, companion.name.format(host=host, relay=change.parent))
            if key in head:
                yield key, f"replaced with {change.name}: {companion.why}"


def _followers(
    changes: Iterable[ResourceChange], base: Mapping[str, Any], head: Mapping[str, Any]
) -> Iterable[tuple[tuple[str, str], str]]:
    """Resources whose masked input moves with a replacement or an output (see replacement.py)."""
    replaced = {c.key for c in changes if c.action is Action.REPLACE}
    old_outputs, new_outputs = base.get("outputs") or {}, head.get("outputs") or {}
    for follower in FOLLOWERS:
        by_source = follower.source is not None and follower.source in replaced
        by_output = follower.output is not None and old_outputs.get(
            follower.output
        ) != new_outputs.get(follower.output)
        if by_source or by_output:
            yield (follower.type, follower.name), follower.why
