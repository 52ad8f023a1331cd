"""Writing the rendered tree, and comparing it with a committed copy (the GitOps gate)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from infra.ground.errors import refused

RENDER_MARKER = ".relaymd-render"
"""Present in every rendered tree: only such a directory may be replaced by the next render."""
_MARKER_TEXT = "Rendered by scripts/plan: the next render replaces this whole directory.\n"


def write_tree(directory: Path, files: Mapping[str, str]) -> None:
    """Replace ``directory`` with exactly ``files`` so stale artifacts cannot linger.

    The tree is written beside it first and renamed into place, so an interrupted render
    never leaves half a tree, and only an earlier render (or an empty directory) is replaced.
    """
    refuse_foreign_directory(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for relative, content in sorted(files.items()):
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode("utf-8"))
        (staging / RENDER_MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        staging.chmod(0o755)
        if directory.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
            directory.rename(retired / directory.name)
            staging.rename(directory)
            shutil.rmtree(retired)
        else:
            staging.rename(directory)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def refuse_foreign_directory(directory: Path) -> None:
    """Refuse an --out target the render would replace although it is not an earlier render."""
    if not directory.exists() and not directory.is_symlink():
        return
    if directory.is_symlink() or not directory.is_dir():
        reason = "a symbolic link" if directory.is_symlink() else "a file"
    elif (directory / RENDER_MARKER).is_file() or not any(directory.iterdir()):
        return
    else:
        reason = "a directory that is not an earlier render"
    raise refused(
        "--out",
        "--out",
        f"{directory} ({reason})",
        f"a new or empty directory, or an earlier render (it holds {RENDER_MARKER}); "
        "the whole directory is replaced, so pick another path (a render from before "
        "the marker existed: delete it once yourself)",
    )


def differing_files(directory: Path, files: Mapping[str, str]) -> list[str]:
    """Sorted ``path: reason`` lines for every file whose bytes differ from a fresh render."""
    committed = (
        {
            str(path.relative_to(directory)): path
            for path in directory.rglob("*")
            if path.is_file() and path.name != RENDER_MARKER
        }
        if directory.is_dir()
        else {}
    )
    differences = []
    for relative in sorted(files.keys() | committed.keys()):
        if relative not in committed:
            differences.append(f"{relative}: missing from {directory}")
        elif relative not in files:
            differences.append(f"{relative}: no longer rendered (delete it)")
        elif committed[relative].read_bytes() != files[relative].encode("utf-8"):
            differences.append(f"{relative}: content differs")
    return differences
