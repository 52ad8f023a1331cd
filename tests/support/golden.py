"""The committed example render, ``tests/golden/example/``, and whole renders made from it.

The golden copy holds what the example stack renders, except the shared NixOS modules: a render
copies those verbatim from the repository's ``nixos/*.nix`` (``nixos/modules/<file>``), so a
copy of them here would only re-check those files byte for byte. ``tests/unit/cli/test_plan.py``
proves both halves against a fresh render: the golden copy is current, and the rendered modules
are exactly ``nixos/*.nix``.

Whatever needs a whole render as a repository commits it (``scripts/plan --check``, a review's
base, the namespaced hosts that evaluate ``configuration.nix`` and its ``../modules/`` imports)
takes :func:`whole_render`: the golden copy plus the modules from ``nixos/`` as they are now,
never a stale copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path

from infra.ground.contract import NIXOS_ROOT, SHARED_MODULES
from infra.ground.project import PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "tests" / "golden" / "example"
MODULES = f"{NIXOS_ROOT}{SHARED_MODULES}/"
"""Where a render puts the shared modules, relative to ``build/<stack>/``."""
REPOSITORY_MODULES = PROJECT_ROOT / "nixos"
REFRESH = "scripts/plan --out tests/golden/example && rm -r tests/golden/example/nixos/modules"
"""How to refresh the golden copy after a change to what is rendered."""


def repository_modules() -> list[Path]:
    """Every module a render copies: ``nixos/*.nix`` (``nixos/hardware/`` holds no module)."""
    return sorted(REPOSITORY_MODULES.glob("*.nix"))


def golden_part(files: Mapping[str, str]) -> dict[str, str]:
    """The rendered ``files`` the golden copy holds: all but the shared modules."""
    return {path: text for path, text in files.items() if not path.startswith(MODULES)}


def whole_render(target: Path) -> Path:
    """Write the example's whole render into ``target`` (a new directory) and return it."""
    shutil.copytree(GOLDEN, target)
    modules = target / MODULES
    # Fails if the golden copy holds modules again: they would hide the repository's own.
    modules.mkdir()
    for module in repository_modules():
        shutil.copyfile(module, modules / module.name)
    return target
