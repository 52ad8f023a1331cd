"""The rendered contracts a review compares, read from a render directory or a fresh render.

A review depends on nothing but these files (``plan.json``, ``tailscale/policy.hujson``,
``nixos/<host>/*.nix``, ``infisical/secrets.json``), so it can compare renders made by
different versions of this program.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.ground import hujson
from infra.ground.contract import CATALOG_FILE, NIXOS_ROOT, PLAN_FILE, POLICY_FILE, SHARED_MODULES
from infra.ground.errors import ConfigError, ConfigIssue

MAX_FILE_BYTES = 16 * 1024 * 1024
"""A render's largest file, plan.json, is well under 1 MiB even for 50 relays."""


@dataclass(frozen=True)
class Rendered:
    """One render of a stack, parsed just enough to compare it with another."""

    plan: Mapping[str, Any]
    policy: Mapping[str, Any] | None
    catalog: Mapping[str, Any] | None
    host_files: Mapping[str, Mapping[str, str]]
    """Host name → its files under ``nixos/<host>/`` (relative to that folder)."""
    module_files: Mapping[str, str]
    """The shared ``nixos/modules/*.nix``, by file name."""


def read_render_dir(directory: Path) -> dict[str, str]:
    """Every file of a render directory, by its path relative to it."""
    if not directory.is_dir():
        raise ConfigError(
            "--review",
            [
                ConfigIssue(
                    "BASE_DIR",
                    str(directory),
                    "a directory holding a committed render (e.g. the target branch's); "
                    "create one with scripts/plan --out DIR on the target branch",
                )
            ],
        )
    files: dict[str, str] = {}
    for path in sorted(directory.rglob("*")):
        relative = path.relative_to(directory).as_posix()
        # scripts/plan writes no links: one here would put whatever it points at (a CI
        # runner's /proc/self/environ) into a comment on the pull request.
        if path.is_symlink():
            raise _bad(str(directory), relative, "a symbolic link", "a regular file")
        if path.is_file():
            files[relative] = _read(directory, path, relative)
    return files


def _read(directory: Path, path: Path, relative: str) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise _bad(str(directory), relative, f"unreadable ({error.strerror})", "a file") from None
    if len(data) > MAX_FILE_BYTES:
        raise _bad(str(directory), relative, f"larger than {MAX_FILE_BYTES} bytes", "a file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise _bad(
            str(directory), relative, f"not UTF-8 (offset {error.start})", "UTF-8 text"
        ) from None


def parse_render(files: Mapping[str, str], origin: str) -> Rendered:
    """Raises ConfigError naming the file and what is wrong with it."""
    if PLAN_FILE not in files:
        raise _bad(origin, PLAN_FILE, "missing", "the plan.json that scripts/plan writes")
    plan = _parse(origin, PLAN_FILE, files[PLAN_FILE], json.loads)
    if not isinstance(plan, dict) or not isinstance(plan.get("resources"), list):
        raise _bad(origin, PLAN_FILE, "no 'resources' list", 'a {"resources": [...]} document')
    for index, resource in enumerate(plan["resources"]):
        named = isinstance(resource, dict) and all(
            isinstance(resource.get(key), str) for key in ("type", "name")
        )
        if not named:
            where = f"{PLAN_FILE} resources[{index}]"
            raise _bad(origin, where, "not a resource", 'an object with "type" and "name"')
    policy = _optional(origin, POLICY_FILE, files, hujson.parse)
    catalog = _optional(origin, CATALOG_FILE, files, json.loads)
    hosts: dict[str, dict[str, str]] = {}
    modules: dict[str, str] = {}
    for path, text in sorted(files.items()):
        if not path.startswith(NIXOS_ROOT):
            continue
        folder, _, name = path.removeprefix(NIXOS_ROOT).partition("/")
        if not name:
            continue  # a loose file beside the host folders belongs to no host
        if folder == SHARED_MODULES:
            modules[name] = text
        else:
            hosts.setdefault(folder, {})[name] = text
    return Rendered(plan, policy, catalog, hosts, modules)


def _optional(origin: str, path: str, files: Mapping[str, str], parser: Any) -> Any:
    return _parse(origin, path, files[path], parser) if path in files else None


def _parse(origin: str, path: str, text: str, parser: Any) -> Any:
    try:
        return parser(text)
    except (ValueError, RecursionError) as error:
        # json.JSONDecodeError is a ValueError, so one clause covers both formats; a
        # document nested thousands deep exhausts the parsers' recursion instead.
        raise _bad(
            origin, path, f"unreadable ({error})", "a file as scripts/plan renders it"
        ) from None


def _bad(origin: str, path: str, problem: str, expected: str) -> ConfigError:
    return ConfigError(
        f"--review {origin}",
        [ConfigIssue(path, problem, f"{expected}; re-render it with scripts/plan --out DIR")],
    )
