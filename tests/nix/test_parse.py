"""Every module, hardware file and rendered configuration passes the real Nix parser."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.config.sources import NIXOS_DIR
from tests.support.nixeval import parse_file

pytestmark = pytest.mark.nix

REPOSITORY_NIX_FILES = sorted(NIXOS_DIR.rglob("*.nix"))


def test_the_repository_has_the_modules_the_templates_import() -> None:
    names = {path.name for path in NIXOS_DIR.glob("*.nix")}
    assert {
        "hardening.nix",
        "secrets.nix",
        "tailnet-node.nix",
        "orchestrator.nix",
        "relay.nix",
        "infisical-relay.nix",
        "proxmox-guest.nix",
    } <= names


@pytest.mark.parametrize("path", REPOSITORY_NIX_FILES, ids=lambda path: path.name)
def test_repository_nix_file_parses(path: Path) -> None:
    parse_file(path)


@pytest.mark.parametrize("tree", ["example_tree", "full_tree"])
def test_every_rendered_file_parses(tree: str, request: pytest.FixtureRequest) -> None:
    directory: Path = request.getfixturevalue(tree)
    files = sorted(directory.rglob("*.nix"))
    assert len(files) >= 9
    for path in files:
        parse_file(path)


def test_a_syntax_error_is_caught(tmp_path: Path) -> None:
    broken = tmp_path / "broken.nix"
    broken.write_text('{ a = "unterminated; }\n')
    with pytest.raises(AssertionError, match="failed"):
        parse_file(broken)
