"""Folders are layers: none imports a folder above it, and no two import each other.

The layers, bottom to top, as docs/architecture.md draws them. A folder may import any folder
of a lower layer and never one of its own layer or above; the import graph is read from every
``import`` statement of the package, those inside functions and ``TYPE_CHECKING`` blocks too.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.ground.project import PROJECT_ROOT
from tests.support.python_source import parse_file

PACKAGE = PROJECT_ROOT / "infra"
LAYERS: tuple[tuple[str, ...], ...] = (
    ("ground",),
    ("config",),
    ("tailnet", "proxmox", "nixos", "infisical"),
    ("stack",),
    ("program",),
    ("plan", "review", "verify", "watch"),
    ("cli",),
)
"""Bottom first. The entry ``infra/__main__.py`` (Pulumi's) sits above them all."""
LAYER_OF = {folder: rank for rank, folders in enumerate(LAYERS) for folder in folders}
LOOSE_MODULES = {"__init__.py", "__main__.py"}


def _imported_folders(path: Path) -> Iterator[tuple[int, str]]:
    """(line, folder) for every ``infra.<folder>`` this module imports."""
    for node in ast.walk(parse_file(path)):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        folders = {
            parts[1]
            for parts in (name.split(".") for name in names)
            if parts[0] == "infra" and len(parts) > 1 and parts[1] in LAYER_OF
        }
        for folder in sorted(folders):
            yield node.lineno, folder


def _module_edges() -> list[tuple[str, str, str]]:
    """(importing folder, imported folder, where) across folders."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if len(relative.parts) == 1:
            continue  # the package's own __init__ and the Pulumi entry
        folder = relative.parts[0]
        for line, imported in _imported_folders(path):
            if imported != folder:
                edges.append((folder, imported, f"infra/{relative}:{line}"))
    return edges


def test_every_folder_has_a_layer_and_no_module_lies_loose() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert folders == set(LAYER_OF), "give each new folder of infra/ a layer here and in the docs"
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose == LOOSE_MODULES


def test_no_folder_imports_its_own_layer_or_one_above() -> None:
    wrong = [
        f"{where}: {folder} (layer {LAYER_OF[folder]}) imports {imported} "
        f"(layer {LAYER_OF[imported]})"
        for folder, imported, where in _module_edges()
        if LAYER_OF[imported] >= LAYER_OF[folder]
    ]
    assert wrong == []


def test_no_two_folders_import_each_other() -> None:
    pairs = {(folder, imported) for folder, imported, _ in _module_edges()}
    assert sorted(pair for pair in pairs if pair[::-1] in pairs) == []


def test_the_check_sees_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The control: a ground module importing the CLI, even inside a function, is caught."""
    fake = tmp_path / "infra"
    (fake / "ground").mkdir(parents=True)
    (fake / "ground" / "x.py").write_text("def f():\n    from infra.cli.app import main\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    assert [(folder, imported) for folder, imported, _ in _module_edges()] == [("ground", "cli")]


def test_the_architecture_document_draws_these_layers() -> None:
    """docs/architecture.md draws each layer's folders on one numbered line, top first."""
    text = (PROJECT_ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    drawn = re.findall(r"^\s*(\d)\s+((?:[a-z]+/\s*)+)", text, flags=re.MULTILINE)
    layers = [(int(rank), tuple(re.findall(r"([a-z]+)/", line))) for rank, line in drawn]
    assert layers[::-1] == list(enumerate(LAYERS))
