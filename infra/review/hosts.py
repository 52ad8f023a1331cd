"""Per host: the rendered configuration's unified diff and a one-line verdict."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from infra.ground.contract import (
    COMMAND_TYPE,
    INSTALL_STEP,
    NIXOS_ROOT,
    SHARED_MODULES,
    UPDATE_STEP,
    VM_TYPE,
    host_command_resource,
)
from infra.review.inputs import Rendered
from infra.review.resources import Action, ResourceChange
from infra.review.values import natural


class Verdict(StrEnum):
    UNCHANGED = "unchanged"
    SWITCH = "switch"
    REINSTALL = "reinstall"
    NEW = "new host"
    REMOVED = "removed"


@dataclass(frozen=True)
class HostReview:
    host: str
    verdict: Verdict
    why: str
    diff: tuple[str, ...]
    """Unified diff lines of the host's own files (shared modules are diffed once)."""


def unified(old: Mapping[str, str], new: Mapping[str, str], folder: str) -> tuple[str, ...]:
    lines: list[str] = []
    for name in sorted(old.keys() | new.keys()):
        before, after = old.get(name, ""), new.get(name, "")
        if before != after:
            lines += difflib.unified_diff(
                before.splitlines(),
                after.splitlines(),
                f"a/{folder}/{name}" if name in old else "/dev/null",
                f"b/{folder}/{name}" if name in new else "/dev/null",
                lineterm="",
            )
    return tuple(lines)


def _reinstall_reason(
    host: str, changes: Sequence[ResourceChange], vm_hosts: Mapping[str, str]
) -> str | None:
    replaced = [c for c in changes if c.action is Action.REPLACE]
    for change in replaced:
        if change.type == VM_TYPE and vm_hosts.get(change.name) == host:
            reasons = " and ".join(r.rule.setting for r in change.replaced_by)
            return f"{change.name} is replaced because {reasons or 'it is replaced'} changed"
    for change in replaced:
        if change.type == COMMAND_TYPE and change.name == host_command_resource(host, INSTALL_STEP):
            return f"{change.name} runs again"
    return None


def review_hosts(
    base: Rendered,
    head: Rendered,
    changes: Sequence[ResourceChange],
    vm_hosts: Mapping[str, str],
) -> tuple[HostReview, ...]:
    """``vm_hosts``: VM resource name → the host it carries."""
    modules_changed = base.module_files != head.module_files
    reviews = []
    for host in sorted(base.host_files.keys() | head.host_files.keys(), key=natural):
        old, new = base.host_files.get(host, {}), head.host_files.get(host, {})
        diff = unified(old, new, f"{NIXOS_ROOT}{host}")
        update = next(
            (
                c
                for c in changes
                if c.type == COMMAND_TYPE and c.name == host_command_resource(host, UPDATE_STEP)
            ),
            None,
        )
        reinstall = _reinstall_reason(host, changes, vm_hosts)
        if host not in base.host_files:
            verdict, why = Verdict.NEW, "rendered for the first time"
        elif host not in head.host_files:
            verdict, why = Verdict.REMOVED, "no longer rendered"
        elif reinstall:
            verdict, why = Verdict.REINSTALL, reinstall
        elif diff:
            changed = sorted(n for n in old.keys() | new.keys() if old.get(n) != new.get(n))
            verdict, why = Verdict.SWITCH, f"{', '.join(changed)} changed"
        elif modules_changed:
            verdict, why = Verdict.SWITCH, "the shared NixOS modules changed"
        elif update is not None:  # e.g. a new nixpkgs pin: same files, another system
            verdict, why = Verdict.SWITCH, f"{update.name} is {update.action.value}"
        else:
            verdict, why = Verdict.UNCHANGED, "same configuration"
        reviews.append(HostReview(host, verdict, why, diff))
    return tuple(reviews)


def modules_diff(base: Rendered, head: Rendered) -> tuple[str, ...]:
    return unified(base.module_files, head.module_files, f"{NIXOS_ROOT}{SHARED_MODULES}")
