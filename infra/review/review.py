"""A pull-request review of a stack: one deterministic document from two renders."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from infra.ground.contract import VM_TYPE
from infra.review.budget import DEFAULT_BUDGET, Section, fit
from infra.review.headline import headline, warnings
from infra.review.hosts import modules_diff, review_hosts
from infra.review.inputs import Rendered, parse_render
from infra.review.policy import diff_policy
from infra.review.resources import Action, diff_resources, index_resources, input_changes
from infra.review.secrets import diff_catalog
from infra.review.sections import (
    hosts_section,
    policy_section,
    resources_section,
    secrets_section,
)
from infra.review.style import Format, Style

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
            if resource.get("type") == VM_TYPE and isinstance(name, str):
                hosts[str(resource.get("name"))] = name
    return hosts


def _render_section(section: Section, style: Style) -> str:
    if style.markdown:
        # A section with a lead shows it openly under a bold summary; the rest folds away.
        lead = [style.bold(section.summary), "", *section.lead, ""] if section.lead else []
        folded = f"{section.title}: details" if section.lead else section.summary
        lines = [
            *lead,
            "<details>",
            f"<summary>{folded}</summary>",
            "",
            *section.body,
            "",
            "</details>",
        ]
    else:
        lines = [f"== {section.summary}", *section.lead, *section.body]
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
    head_resources = index_resources(head.plan)
    created = {
        c.key: head_resources[c.key].get("inputs") or {}
        for c in changes
        if c.action is Action.CREATE
    }
    outputs = input_changes(base.plan.get("outputs") or {}, head.plan.get("outputs") or {})
    sections = [
        resources_section(changes, created, outputs, style),
        policy_section(policy, style),
        hosts_section(hosts, modules_diff(base, head), style),
        secrets_section(catalog, style),
    ]
    top = [headline(request.stack, request.base_label, sections, changes, style)]
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
    # Room for the closing note: its own length depends on what it lists, so settle it.
    note_room = len(full_command(request)) + 40 * len(sections) + 80
    text = whole
    for _ in range(20):
        available = request.budget - fixed - note_room - 2 * len(sections)
        fitted = fit(sections, max(available, 0), render)
        listed = ", ".join(f"{s.cut_lines} lines of {s.title}" for s in fitted if s.cut_lines)
        note = (
            f"Cut to fit {request.budget} characters: {listed}. "
            f"The whole review: {style.code(full_command(request))}"
        )
        text = document(fitted, note)
        if len(text) <= request.budget:
            return text
        note_room += len(text) - request.budget + 16
    return text  # only the headline and warnings remain: they are never cut
