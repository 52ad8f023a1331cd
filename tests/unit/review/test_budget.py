"""The size budget: fifty relays changing at once still fit one comment."""

from __future__ import annotations

import re
from typing import Any

import pytest

from infra.review.budget import DEFAULT_BUDGET, Section, fit
from infra.review.review import ReviewRequest, build_review, full_command
from infra.review.style import Format
from tests.support.review_stacks import render_files, with_relays

RELAYS = 50


def _everything_changes(raw: dict[str, Any]) -> dict[str, Any]:
    for relay in raw["relays"]:
        relay["template_id"] = 117
        relay["cores"] = 4
        relay["nameservers"] = ["10.100.10.53"]
    return raw


@pytest.fixture(scope="module")
def fifty() -> tuple[dict[str, str], dict[str, str]]:
    return render_files(with_relays(RELAYS)), render_files(_everything_changes(with_relays(RELAYS)))


def _review(pair: tuple[dict[str, str], dict[str, str]], fmt: Format, budget: int) -> str:
    return build_review(*pair, ReviewRequest("example", "deploy-review/example", fmt, budget))


@pytest.mark.parametrize("fmt", list(Format))
def test_fifty_relays_fit_the_default_budget(
    fifty: tuple[dict[str, str], dict[str, str]], fmt: Format
) -> None:
    whole = _review(fifty, fmt, 0)
    assert len(whole) > DEFAULT_BUDGET, "the pair must overflow the budget for this test to bite"
    fitted = _review(fifty, fmt, DEFAULT_BUDGET)
    assert len(fitted) <= DEFAULT_BUDGET
    # Headline and warnings are never cut.
    top = whole.split("\n\n== ", 1)[0] if fmt is Format.TEXT else whole.split("<details>", 1)[0]
    assert fitted.startswith(top)
    assert f"{RELAYS} VMs are replaced because" in top
    # The last line says what was cut and how to see it all.
    last = fitted.rstrip("\n").splitlines()[-1]
    request = ReviewRequest("example", "deploy-review/example", fmt, DEFAULT_BUDGET)
    assert last.startswith(f"Cut to fit {DEFAULT_BUDGET} characters: ")
    assert full_command(request) in last
    assert "--budget 0" in last


def test_trimmed_markdown_stays_well_formed(fifty: tuple[dict[str, str], dict[str, str]]) -> None:
    fitted = _review(fifty, Format.MARKDOWN, DEFAULT_BUDGET)
    assert fitted.count("<details>") == fitted.count("</details>") == 4
    fences = [line for line in fitted.splitlines() if re.fullmatch(r"`{3,}(diff)?", line)]
    assert len(fences) % 2 == 0
    assert "more lines cut to fit the size budget" in fitted


def test_longest_sections_are_cut_first(fifty: tuple[dict[str, str], dict[str, str]]) -> None:
    whole = _review(fifty, Format.MARKDOWN, 0)
    fitted = _review(fifty, Format.MARKDOWN, DEFAULT_BUDGET)
    secrets = whole[whole.index("<summary>Secrets") :]
    assert secrets in fitted  # the short section survives whole
    note = fitted.rstrip("\n").splitlines()[-1]
    assert "lines of Resources" in note and "lines of Hosts" in note and "Secrets" not in note


def test_budget_is_deterministic(fifty: tuple[dict[str, str], dict[str, str]]) -> None:
    assert _review(fifty, Format.MARKDOWN, 20_000) == _review(fifty, Format.MARKDOWN, 20_000)


def test_fit_caps_the_longest_section_first() -> None:
    def render(section: Section) -> str:
        return "\n".join((section.summary, *section.body))

    long = Section("A", "a", tuple(f"line {n}" for n in range(100)))
    short = Section("B", "b", ("one", "two"))
    fitted = fit([long, short], 200, render)
    assert fitted[1] == short
    assert fitted[0].cut_lines > 0 and len(render(fitted[0])) <= 200 - len(render(short))
