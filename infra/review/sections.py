"""The four sections of a review, as lines in the chosen style."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any

from infra.ground.contract import VM_TYPE
from infra.review.budget import Section
from infra.review.hosts import HostReview, Verdict
from infra.review.policy import PolicyDiff
from infra.review.resources import ACTION_ORDER, Action, InputChange, ResourceChange
from infra.review.secrets import CatalogDiff
from infra.review.style import Style
from infra.review.values import is_text, leaves, shown


def _counts(parts: Sequence[tuple[int, str]]) -> str:
    """``[(1, "rule{s} added")]`` → ``1 rule added``; nothing counted → ``no change``."""
    shown = [f"{n} {label.format(s='' if n == 1 else 's')}" for n, label in parts if n]
    return ", ".join(shown) or "no change"


def action_counts(changes: Sequence[ResourceChange]) -> list[tuple[int, str]]:
    return [(sum(1 for c in changes if c.action is a), a.value) for a in ACTION_ORDER]


def vm_replacement_cause(change: ResourceChange, style: Style, *, each: bool = False) -> str:
    """E.g. "`template_id` changed": the cause VMs replaced together share.

    ``each`` speaks of several VMs at once, so the how-to names no single URN.
    """
    settings = " and ".join(style.code(r.rule.setting) for r in change.replaced_by)
    urn = "<URN of each VM>" if each or not change.urn else f"'{change.urn}'"
    manual = sorted({r.rule.manual.format(urn=urn) for r in change.replaced_by if r.rule.manual})
    if not style.markdown:
        manual = [text.replace("`", "") for text in manual]  # the table writes markdown
    return f"{settings} changed" + "".join(f" ({text})" for text in manual)


def replacement_reason(change: ResourceChange, style: Style) -> str:
    """``relay-1 reinstalls: the VM is replaced because `template_id` changed``."""
    if change.replaced_with:
        return "; ".join(change.replaced_with)
    cause = vm_replacement_cause(change, style)
    if change.type == VM_TYPE:
        return f"{change.parent or change.name} reinstalls: the VM is replaced because {cause}"
    return f"replaced because {cause}"


def _value_lines(change: InputChange, style: Style, depth: int) -> list[str]:
    old, new = style.code(shown(change.old)), style.code(shown(change.new))
    line = style.item(f"{style.code(change.path)}: {old} → {new}", depth)
    if not (is_text(change.old) or is_text(change.new)):
        return [line]
    before = change.old.splitlines() if isinstance(change.old, str) else []
    after = change.new.splitlines() if isinstance(change.new, str) else []
    diff = list(difflib.unified_diff(before, after, "old", "new", lineterm="", n=2))[2:]
    return [line, *style.block(diff, "diff")]


def _resource_line(change: ResourceChange, style: Style) -> str:
    where = f" (in {change.parent})" if change.parent else ""
    text = f"{style.code(change.short_type)} {style.bold(change.name)}{where}"
    if change.action is Action.REPLACE:
        text += f": {replacement_reason(change, style)}"
        if change.retained:
            text += f"; retained on delete, {change.retained}"
    elif change.action is Action.DELETE and change.retained:
        text += f": retained on delete, {change.retained}"
    if change.follows:
        text += f"{'; ' if change.action is Action.REPLACE else ': '}{'; '.join(change.follows)}"
    return style.item(text)


def resources_section(
    changes: Sequence[ResourceChange],
    created_inputs: Mapping[tuple[str, str], Mapping[str, Any]],
    outputs: Sequence[InputChange],
    style: Style,
) -> Section:
    body: list[str] = []
    for action in ACTION_ORDER:
        chosen = [c for c in changes if c.action is action]
        if not chosen:
            continue
        body += ["", style.bold(f"{action.value.capitalize()} ({len(chosen)})")]
        for change in chosen:
            body.append(_resource_line(change, style))
            for moved in change.changes:
                body += _value_lines(moved, style, 1)
            for path, value in leaves(created_inputs.get(change.key, {})).items():
                if path:
                    body.append(style.item(f"{style.code(path)} = {style.code(shown(value))}", 1))
    if outputs:
        body += ["", style.bold(f"Stack outputs ({len(outputs)})")]
        body += [line for moved in outputs for line in _value_lines(moved, style, 0)]
    summary = "Resources: " + _counts(action_counts(changes))
    return Section("Resources", summary, _body(body, "Nothing changes."))


def _body(lines: Sequence[str], when_empty: str) -> tuple[str, ...]:
    """The lines without the blank one each group starts with, or a line saying so."""
    return tuple(lines[1:]) or (when_empty,)


def _grouped(groups: Sequence[tuple[str, Sequence[str]]], style: Style) -> list[str]:
    """A bold title and a list per non-empty group, each group after a blank line."""
    body: list[str] = []
    for title, lines in groups:
        if lines:
            body += ["", style.bold(f"{title} ({len(lines)})"), *map(style.item, lines)]
    return body


def policy_section(diff: PolicyDiff, style: Style) -> Section:
    groups = (
        ("Access widens", diff.widenings),
        ("Now allowed by a new rule, already allowed before", diff.now_reach),
        ("No longer allowed", diff.no_longer_reach),
        ("Policy tests added", diff.tests_added),
        ("Policy tests removed", diff.tests_removed),
        ("Other policy sections changed", diff.other_sections),
    )
    body = _grouped(groups, style)
    if diff.widenings:
        body = ["", style.bold("This change widens access."), *body]
    parts = [(diff.rules_added, "rule{s} added"), (diff.rules_removed, "rule{s} removed")]
    parts += [
        (len(diff.tests_added), "test{s} added"),
        (len(diff.tests_removed), "test{s} removed"),
    ]
    summary = "Tailnet policy: " + _counts(parts)
    if diff.widenings:
        summary += "; opens access"
    return Section("Tailnet policy", summary, _body(body, "Nothing changes."))


def hosts_section(hosts: Sequence[HostReview], modules: Sequence[str], style: Style) -> Section:
    verdicts = tuple(
        style.item(f"{style.bold(host.host)}: {host.verdict.value} ({host.why})") for host in hosts
    )
    body: list[str] = []
    for host in hosts:
        if host.diff:
            body += [
                "",
                style.bold(f"{host.host}: rendered configuration"),
                *style.block(host.diff, "diff"),
            ]
    if modules:
        body += ["", style.bold("Shared NixOS modules"), *style.block(modules, "diff")]
    counts = [(sum(1 for h in hosts if h.verdict is v), v.value) for v in Verdict]
    summary = "Hosts: " + _counts([c for c in counts if c[1] != Verdict.UNCHANGED.value])
    return Section(
        "Hosts",
        summary,
        _body(body, "No configuration changes."),
        verdicts or ("No host is rendered.",),
    )


def secrets_section(diff: CatalogDiff, style: Style) -> Section:
    groups = (
        ("Names added", diff.added),
        ("Names removed", diff.removed),
        ("Changed", diff.changed),
        ("Catalog location and storage provider", diff.location),
    )
    body = _grouped(groups, style)
    if diff.consumers_affected:
        body += ["", f"Consumers affected: {', '.join(diff.consumers_affected)}"]
    parts = [(len(diff.added), "name{s} added"), (len(diff.removed), "name{s} removed")]
    parts += [(len(diff.changed), "other change{s}")]
    parts += [(len(diff.location), "location change{s}")]
    summary = "Secrets: " + _counts(parts)
    return Section("Secrets", summary, _body(body, "Nothing changes."))
