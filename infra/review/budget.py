"""Fitting a review into a size budget: the longest sections give way first.

The headline and warnings are never cut. Sections are cut at line boundaries, an open code
fence is closed again, and a last line says what was cut and how to see all of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

DEFAULT_BUDGET = 60_000
"""Below GitHub's 65,536-character comment limit, leaving room for a CI job's own lines."""


@dataclass(frozen=True)
class Section:
    title: str
    summary: str
    body: tuple[str, ...]
    lead: tuple[str, ...] = ()
    """Lines before the body that are never cut (e.g. each host's one-line verdict)."""
    cut_lines: int = 0
    """How many body lines were cut to fit the budget."""


Renderer = Callable[[Section], str]


def _close_open_fence(kept: Sequence[str]) -> list[str]:
    fence: str | None = None
    for line in kept:
        if fence is None and line.startswith("```"):
            fence = line[: len(line) - len(line.lstrip("`"))]
        elif fence is not None and line == fence:
            fence = None
    return [*kept, fence] if fence else list(kept)


def trim(section: Section, limit: int, render: Renderer) -> Section:
    """The longest prefix of the body whose rendering fits in ``limit`` characters."""
    if len(render(section)) <= limit:
        return section
    low, high = 0, len(section.body)
    while low < high:  # binary search on the number of kept lines
        middle = (low + high + 1) // 2
        if len(render(_cut(section, middle))) <= limit:
            low = middle
        else:
            high = middle - 1
    return _cut(section, low)


def _cut(section: Section, keep: int) -> Section:
    cut = len(section.body) - keep
    note = f"… {cut} more {'line' if cut == 1 else 'lines'} cut to fit the size budget"
    return replace(
        section,
        body=(*_close_open_fence(section.body[:keep]), note),
        cut_lines=section.cut_lines + cut,
    )


def fit(sections: Sequence[Section], available: int, render: Renderer) -> list[Section]:
    """Cap every section at one length, as high as fits ``available`` in total.

    Capping at a common length trims the longest sections first and only as much as needed.
    """
    sizes = [len(render(s)) for s in sections]
    if sum(sizes) <= available:
        return list(sections)
    low, high = 0, max(sizes)
    while low < high:
        cap = (low + high + 1) // 2
        if sum(min(size, cap) for size in sizes) <= available:
            low = cap
        else:
            high = cap - 1
    return [
        trim(s, low, render) if size > low else s for s, size in zip(sections, sizes, strict=True)
    ]
