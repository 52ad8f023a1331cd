"""The README stays one page, every relative link of it and of docs/ resolves (anchors too), and
every command of the front door is documented with its exit statuses."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cli.app import ENTRY, all_commands
from infra.ground.project import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
PAGES = [README, *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
MAX_README_LINES = 150

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def _prose(text: str) -> Iterator[tuple[int, str]]:
    """Numbered lines outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield number, line


def _headings(text: str) -> Iterator[tuple[int, int, str]]:
    """(line, level, text) of each heading."""
    for number, line in _prose(text):
        found = _HEADING.match(line)
        if found:
            yield number, len(found[1]), found[2]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: code spans kept as text, lower case, punctuation but
    '-' and '_' removed, each space a '-'."""
    text = _CODE_SPAN.sub(lambda span: span[2], heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, _, heading in _headings(text):
        anchor = github_anchor(heading)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.add(anchor if count == 0 else f"{anchor}-{count}")
    return found


def broken_links(page: Path) -> list[str]:
    """Every relative link of ``page`` whose file, or whose anchor in it, does not exist."""
    text = page.read_text(encoding="utf-8")
    lines = dict(_prose(text))
    # Prose only, line for line (a link's text may wrap), code blocks and spans blanked out.
    prose = "\n".join(
        _CODE_SPAN.sub("", lines.get(number, "")) for number in range(1, len(text.splitlines()) + 1)
    )
    problems = []
    for link in _LINK.finditer(prose):
        target = link[1]
        if _EXTERNAL.match(target):
            continue
        number = prose.count("\n", 0, link.end()) + 1
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        where = f"{page.name}:{number}: {target}"
        if not linked.exists():
            problems.append(f"{where}: no such file")
        elif (
            anchor
            and linked.suffix == ".md"
            and anchor not in anchors(linked.read_text(encoding="utf-8"))
        ):
            problems.append(f"{where}: no heading with that anchor in {linked.name}")
    return problems


def test_the_readme_is_one_page() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines; move the rest to docs/"


def test_the_readme_gives_the_two_commands_and_a_way_to_every_page() -> None:
    text = README.read_text(encoding="utf-8")
    assert "scripts/plan " in text and "scripts/test " in text
    for page in PAGES[1:]:
        assert f"(docs/{page.name})" in text, f"README.md does not lead to docs/{page.name}"


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_every_relative_link_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Other\n\n## `scripts/plan --check`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n## Same page\n\n"
        "[ok](other.md#scriptsplan---check) [ok](#same-page) [ok](https://example.org/x)\n"
        "[gone](missing.md) [no anchor](other.md#nowhere) [self](#nowhere-here)\n"
        "```\n[in code](ignored.md)\n```\n`[in a span](ignored.md)`\n"
        "[a link whose text\nwraps](wrapped.md)\n"
    )
    assert broken_links(page) == [
        "page.md:6: missing.md: no such file",
        "page.md:6: other.md#nowhere: no heading with that anchor in other.md",
        "page.md:6: #nowhere-here: no heading with that anchor in page.md",
        "page.md:12: wrapped.md: no such file",
    ]


def test_anchors_follow_githubs_rules_for_repeated_headings() -> None:
    assert anchors("# A\n## A\n### A\n") == {"a", "a-1", "a-2"}
    assert github_anchor("`system.stateVersion` per host") == "systemstateversion-per-host"


def _section(text: str, start: int, level: int) -> str:
    """The heading's section: its lines up to the next heading of its level or above."""
    lines = text.splitlines()
    end = next(
        (number for number, depth, _ in _headings(text) if number > start and depth <= level),
        len(lines) + 1,
    )
    return "\n".join(lines[start : end - 1])


COMMANDS = all_commands()


@pytest.mark.parametrize("command", COMMANDS, ids=[command.name for command in COMMANDS])
def test_every_command_is_documented_with_its_exit_statuses(command: object) -> None:
    name = getattr(command, "name", "")
    sections = [
        _section(text, number, level)
        for page in PAGES[1:]
        for text in [page.read_text(encoding="utf-8")]
        for number, level, heading in _headings(text)
        if f"`scripts/{name}`" in heading
    ]
    assert sections, f"no docs/ page has a heading naming `scripts/{name}`"
    documented = [
        section
        for section in sections
        if all(re.search(rf"^\| {status} \|", section, re.MULTILINE) for status in range(4))
    ]
    assert documented, f"the section on scripts/{name} has no exit-status table (0 to 3)"


def test_every_script_runs_its_command_through_the_front_door() -> None:
    scripts = {
        path.name: path.read_text(encoding="utf-8")
        for path in (PROJECT_ROOT / "scripts").iterdir()
        if path.is_file() and path.name != "test"
    }
    assert set(scripts) == {command.name for command in COMMANDS}
    for name, text in scripts.items():
        assert f'-m {ENTRY.removeprefix("python -m ")} {name} "$@"' in text, name
