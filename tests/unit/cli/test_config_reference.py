"""scripts/config-reference: writes the page, and --check tells a fresh page from a stale one."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.cli.app import main
from infra.cli.config_reference import REFERENCE_PATH, SCRIPT
from infra.config.reference import configuration_reference
from infra.ground.project import PROJECT_ROOT


def _run(project: Path, *arguments: str) -> int:
    return main(["config-reference", "--project-dir", str(project), *arguments])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    return tmp_path


def test_the_checkout_passes_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config-reference", "--check"]) == 0
    assert f"{REFERENCE_PATH} is up to date." in capsys.readouterr().out


def test_it_writes_the_page_and_the_check_then_passes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(project) == 0
    page = project / REFERENCE_PATH
    assert page.read_text(encoding="utf-8") == configuration_reference(SCRIPT)
    assert page.stat().st_mode & 0o777 == 0o644
    assert _run(project, "--check") == 0
    assert sorted(path.name for path in (project / "docs").iterdir()) == ["configuration.md"]
    assert "Wrote docs/configuration.md" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "state"), [(None, "missing"), ("# Configuration reference\n", "stale")]
)
def test_the_check_fails_on_a_missing_or_stale_page_and_names_the_command(
    project: Path, capsys: pytest.CaptureFixture[str], content: str | None, state: str
) -> None:
    page = project / REFERENCE_PATH
    if content is not None:
        page.write_text(content, encoding="utf-8")
    assert _run(project, "--check") == 1
    assert capsys.readouterr().out == (
        f"{REFERENCE_PATH} is {state}: run {SCRIPT} and commit the result.\n"
    )
    assert (page.read_text(encoding="utf-8") if page.exists() else None) == content


def test_a_crlf_copy_is_stale(project: Path) -> None:
    fresh = configuration_reference(SCRIPT)
    (project / REFERENCE_PATH).write_bytes(fresh.replace("\n", "\r\n").encode("utf-8"))
    assert _run(project, "--check") == 1


def test_a_link_or_a_directory_in_its_place_is_refused(
    project: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "target.md"
    elsewhere.write_text("keep me\n", encoding="utf-8")
    (project / REFERENCE_PATH).symlink_to(elsewhere)
    assert _run(project) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert elsewhere.read_text(encoding="utf-8") == "keep me\n"
    (project / REFERENCE_PATH).unlink()
    (project / REFERENCE_PATH).mkdir()
    assert _run(project, "--check") == 2


def test_a_directory_without_docs_is_refused(tmp_path: Path) -> None:
    assert _run(tmp_path) == 2
    assert not (tmp_path / "docs").exists()


def test_help_lists_the_commands_own_exit_statuses(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["config-reference", "--help"])
    out = capsys.readouterr().out
    assert "1  --check: docs/configuration.md is missing or stale" in out
    assert (PROJECT_ROOT / "scripts" / "config-reference").is_file()
