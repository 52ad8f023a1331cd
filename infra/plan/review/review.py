"""A pull-request review of a stack: one deterministic document from two renders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infra.plan.review.budget import DEFAULT_BUDGET, Section, fit
from infra.plan.review.hosts import HostReview, Verdict, modules_diff, review_hosts
from infra.plan.review.inputs import Rendered, parse_render
from infra.plan.review.policy import diff_policy
from infra.plan.review.replacement import TAILNET_KEY, VM
from infra.plan.review.resources import Action, ResourceChange, diff_resources, input_changes
from infra.plan.review.secrets import diff_catalog
from infra.plan.review.sections import (
    action_counts,
    hosts_section,
    policy_section,
    replacement_reason,
    resources_section,
    secrets_section,
)
from infra.plan.review.style import Format, Style

MARKER = "<!-- relaymd-infra review: stack {stack} -->"
"""First line of a markdown review, so a CI job can find and update its own comment."""


@dataclass(frozen=True)
class ReviewRequest:
    stack: str
    base_label: str
    """How the base render is named in the review and in the command that shows it all."""
    format: Format = Format.MARKDOWN
    budget: int = DEFAULT_BUDGET
    """Maximum characters; 0 for no limit."""


def _vm_hosts(base: Rendered, head: Rendered) -> dict[str, str]:
    hosts = {}
    for plan in (base.plan, head.plan):  # the head wins: it is what will run
        for resource in plan.get("resources", []):
            name = (resource.get("inputs") or {}).get("name")
            if resource.get("type") == VM and isinstance(name, str):
                hosts[str(resource.get("name"))] = name
    return hosts


def warnings(
    changes: Sequence[ResourceChange],
    opened: Sequence[str],
    hosts: Sequence[HostReview],
    style: Style,
) -> list[str]:
    """Destructive changes: VMs replaced or deleted, access opened, keys revoked."""
    lines = []
    for change in changes:
        if change.type == VM and change.action is Action.REPLACE:
            lines.append(f"VM {change.name} is replaced: {replacement_reason(change, style)}")
        elif change.type == VM and change.action is Action.DELETE:
            lines.append(f"VM {change.name} is deleted (in {change.parent or 'the stack'})")
    lines += [f"the tailnet policy opens access: {sentence}" for sentence in opened]
    for change in changes:
        if change.type == TAILNET_KEY and change.action in (Action.REPLACE, Action.DELETE):
            how = "replaced" if change.action is Action.REPLACE else "deleted"
            lines.append(
                f"key revoked: auth key {change.name} is {how}, the provider deletes the old key"
            )
    lines += [f"host {h.host} is removed" for h in hosts if h.verdict is Verdict.REMOVED]
    return [style.warning(line) for line in lines]


def _headline(
    request: ReviewRequest,
    sections: Sequence[Section],
    changes: Sequence[ResourceChange],
    style: Style,
) -> str:
    counts = ", ".join(f"{count} {label}" for count, label in action_counts(changes))
    rest = " · ".join(section.summary for section in sections[1:])
    return (
        f"{style.bold(f'Stack {request.stack}')} vs {style.code(request.base_label)}: "
        f"{len(changes)} resources change ({counts}) · {rest}"
    )


def _render_section(section: Section, style: Style) -> str:
    if style.markdown:
        lines = [
            "<details>",
            f"<summary>{section.summary}</summary>",
            "",
            *section.body,
            "",
            "</details>",
        ]
    else:
        lines = [f"== {section.summary}", *section.body]
    return "\n".join(lines)


def build_review(
    base_files: Mapping[str, str], head_files: Mapping[str, str], request: ReviewRequest
) -> str:
    """Raises ConfigError when either render is unreadable."""
    style = Style(request.format)
    base = parse_render(base_files, request.base_label)
    head = parse_render(head_files, "fresh render")
    changes = diff_resources(base.plan, head.plan)
    vm_hosts = _vm_hosts(base, head)
    policy = diff_policy(base.policy, head.policy)
    hosts = review_hosts(base, head, changes, vm_hosts)
    catalog = diff_catalog(base.catalog, head.catalog)
    head_inputs = {
        (str(r.get("type")), str(r.get("name"))): r.get("inputs") or {}
        for r in head.plan.get("resources", [])
    }
    created = {c.key: head_inputs[c.key] for c in changes if c.action is Action.CREATE}
    outputs = input_changes(base.plan.get("outputs") or {}, head.plan.get("outputs") or {})
    sections = [
        resources_section(changes, created, outputs, style),
        policy_section(policy, style),
        hosts_section(hosts, modules_diff(base, head), style),
        secrets_section(catalog, style),
    ]
    top = [_headline(request, sections, changes, style)]
    top += warnings(changes, policy.widenings, hosts, style)
    if style.markdown:
        top.insert(0, MARKER.format(stack=request.stack))
    return _assemble(top, sections, request, style)


def full_command(request: ReviewRequest) -> str:
    return (
        f"scripts/plan --stack {request.stack} --review {request.base_label} "
        f"--format {request.format.value} --budget 0"
    )


def _assemble(
    top: Sequence[str], sections: Sequence[Section], request: ReviewRequest, style: Style
) -> str:
    def render(section: Section) -> str:
        return _render_section(section, style)

    def document(parts: Sequence[Section], note: str | None) -> str:
        # Markdown joins adjacent lines into one paragraph: keep the top lines apart.
        blocks = [("\n\n" if style.markdown else "\n").join(top), *(render(s) for s in parts)]
        return "\n\n".join(blocks + ([note] if note else [])) + "\n"

    whole = document(sections, None)
    if request.budget <= 0 or len(whole) <= request.budget:
        return whole
    fixed = len(document([], None))
    note_room = 0
    for _ in range(4):  # the note's own length depends on what it lists; settle it
        available = request.budget - fixed - note_room - 2 * len(sections)
        fitted = fit(sections, max(available, 0), render)
        cut = [s for s in fitted if s.cut_lines]
        listed = ", ".join(f"{s.title} ({s.cut_lines} lines)" for s in cut)
        note = (
            f"Cut to fit {request.budget} characters: {listed}. "
            f"The whole review: {style.code(full_command(request))}"
        )
        text = document(fitted, note)
        if len(text) <= request.budget:
            return text
        note_room += len(text) - request.budget
    return text  # only the headline and warnings remain: they are never cut
