"""The top of a review, never cut: one headline with the counts, then the warnings."""

from __future__ import annotations

from collections.abc import Sequence

from infra.ground.contract import INFISICAL_SECRET_TYPE, TAILNET_KEY_TYPE, VM_TYPE
from infra.review.budget import Section
from infra.review.hosts import HostReview, Verdict
from infra.review.resources import Action, ResourceChange
from infra.review.sections import action_counts, replacement_reason, vm_replacement_cause
from infra.review.style import Style
from infra.review.values import joined


def warnings(
    changes: Sequence[ResourceChange],
    opened: Sequence[str],
    hosts: Sequence[HostReview],
    style: Style,
) -> list[str]:
    """Destructive changes: VMs replaced or deleted, access opened, keys revoked (a retained
    key is not), Infisical secrets moved or deleted.

    Changes with the same reason share one line, so fifty relays make one warning, not fifty.
    """
    lines = []
    replaced_vms: dict[str, list[ResourceChange]] = {}
    for change in changes:
        if change.type == VM_TYPE and change.action is Action.REPLACE:
            cause = vm_replacement_cause(change, style, each=True)
            replaced_vms.setdefault(cause, []).append(change)
    for cause, vms in replaced_vms.items():
        if len(vms) == 1:
            lines.append(f"VM {vms[0].name} is replaced: {replacement_reason(vms[0], style)}")
        else:
            hosts_ = joined([vm.parent or vm.name for vm in vms])
            lines.append(f"{len(vms)} VMs are replaced because {cause}; {hosts_} reinstall")
    deleted = [c.name for c in changes if c.type == VM_TYPE and c.action is Action.DELETE]
    if deleted:
        lines.append(f"VM{'s' if len(deleted) > 1 else ''} deleted: {joined(deleted)}")
    lines += [f"the tailnet policy opens access: {sentence}" for sentence in opened]
    # A retained key is only forgotten: it stays valid until its expiry, nothing is revoked.
    revoked = [
        c.name
        for c in changes
        if c.type == TAILNET_KEY_TYPE
        and c.action in (Action.REPLACE, Action.DELETE)
        and c.retained is None
    ]
    if revoked:
        lines.append(
            f"key revoked: the provider deletes auth key{'s' if len(revoked) > 1 else ''} "
            f"{joined(revoked)} (replaced or removed)"
        )
    lines += _infisical_deletions(changes)
    removed = [h.host for h in hosts if h.verdict is Verdict.REMOVED]
    if removed:
        lines.append(f"host{'s' if len(removed) > 1 else ''} removed: {joined(removed)}")
    return [style.warning(line) for line in lines]


def _infisical_deletions(changes: Sequence[ResourceChange]) -> list[str]:
    """Secrets that leave where RelayMD reads them: moved (replaced) or deleted."""
    lines = []
    moved = [c for c in changes if c.type == INFISICAL_SECRET_TYPE and c.action is Action.REPLACE]
    if moved:
        settings = sorted({r.rule.setting for c in moved for r in c.replaced_by})
        lines.append(
            f"{len(moved)} Infisical secret{'s move' if len(moved) > 1 else ' moves'} "
            f"({joined(settings)} changed): each is written at the new place, then deleted "
            "at the old one, where a component still configured for it stops finding it"
        )
    deleted = [
        c.name for c in changes if c.type == INFISICAL_SECRET_TYPE and c.action is Action.DELETE
    ]
    if deleted:
        lines.append(
            f"Infisical secret{'s' if len(deleted) > 1 else ''} deleted: {joined(deleted)}"
        )
    return lines


def headline(
    stack: str,
    base_label: str,
    sections: Sequence[Section],
    changes: Sequence[ResourceChange],
    style: Style,
) -> str:
    counts = ", ".join(f"{count} {label}" for count, label in action_counts(changes))
    rest = " · ".join(section.summary for section in sections[1:])
    return (
        f"{style.bold(f'Stack {stack}')} vs {style.code(base_label)}: "
        f"{len(changes)} resource{'' if len(changes) == 1 else 's'} to change ({counts}) · {rest}"
    )
