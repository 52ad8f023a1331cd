"""Writing the rendered tree, and comparing it with a committed copy (the GitOps gate)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path


def write_tree(directory: Path, files: Mapping[str, str]) -> None:
    """Replace ``directory`` with exactly ``files`` so stale artifacts cannot linger."""
    if directory.exists():
        shutil.rmtree(directory)
    for relative, content in sorted(files.items()):
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")


def differing_files(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Sorted ``path: reason`` lines for every file that differs from a fresh render."""
    committed = (
        {str(path.relative_to(directory)): path for path in directory.rglob("*") if path.is_file()}
        if directory.is_dir()
        else {}
    )
    differences = []
    for relative in sorted(files.keys() | committed.keys()):
        if relative not in committed:
            differences.append(f"{relative}: missing from {directory}")
        elif relative not in files:
            differences.append(f"{relative}: no longer rendered (delete it)")
        elif committed[relative].read_text(encoding="utf-8") != files[relative]:
            differences.append(f"{relative}: content differs")
    return differences
