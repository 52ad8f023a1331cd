"""The project files a real `pulumi up` and a fresh clone depend on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from infra.ground.project import PROJECT, PROJECT_ROOT
from infra.program.program import REQUIRED_CLI


def test_pulumi_project_runs_this_program_from_the_venv() -> None:
    project = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == PROJECT
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["virtualenv"] == ".venv"
    assert (PROJECT_ROOT / project["main"] / "__main__.py").is_file()
    # Without a refresh the worker key's rotation timer never fires.
    assert project["options"]["refresh"] == "always"


def test_build_output_and_venv_are_never_committed() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "build/example/plan.json", ".venv/bin/python"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert ignored == ["build/example/plan.json", ".venv/bin/python"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert "scripts/test" in ci
    assert "scripts/test" in (PROJECT_ROOT / "README.md").read_text()


def _seed_step(ci: str) -> str:
    """The one path outside the clone that .ci/run names: the runner's Nix cache restore."""
    [seed] = set(re.findall(r"\.\./\S+/seed-store", ci))
    return seed


def test_ci_restores_the_nix_source_cache_before_the_tests_when_it_has_one() -> None:
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    seed = _seed_step(ci)
    assert f"if [[ -f {seed} ]]; then" in ci
    assert f"bash {seed}" in ci
    assert ci.index(seed) < ci.index("scripts/test")


def test_nothing_but_ci_reaches_outside_the_clone() -> None:
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    outside = "/".join(_seed_step((PROJECT_ROOT / ".ci" / "run").read_text()).split("/")[:2])
    readers = [
        path
        for path in tracked
        if (PROJECT_ROOT / path).is_file()
        and outside in (PROJECT_ROOT / path).read_text(errors="replace")
    ]
    assert readers == [".ci/run"]


def test_the_layout_a_fresh_clone_needs_is_there() -> None:
    for directory in ("infra", "nixos", "templates", "tests", "scripts"):
        assert (PROJECT_ROOT / directory).is_dir(), directory
    for name in (
        "Pulumi.yaml",
        "Pulumi.example.yaml",
        "pyproject.toml",
        "README.md",
        ".sops.yaml",
        ".gitignore",
        "secrets/example.sops.yaml",
        "scripts/plan",
        "scripts/test",
        ".ci/run",
    ):
        assert (PROJECT_ROOT / name).is_file(), name
    ignored = (PROJECT_ROOT / ".gitignore").read_text().split()
    assert {"build/", ".venv/"} <= set(ignored)


def test_runtime_dependencies_have_compatible_ranges() -> None:
    """A lower bound that is known to work and an upper bound before the next major change."""
    import re
    import tomllib

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    for requirement in project["dependencies"]:
        assert re.search(r">=[0-9]", requirement), requirement
        assert re.search(r",<[0-9]", requirement), requirement


def test_a_run_whose_every_test_skipped_counts_as_no_test(tmp_path: Path) -> None:
    (tmp_path / "test_only_skips.py").write_text(
        "import pytest\n\n\ndef test_nothing_here():\n    pytest.skip('no reason to run')\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "tests.support.no_empty_runs", str(tmp_path)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 5, run.stdout


def test_version_floors_cover_every_resource_option_the_program_uses() -> None:
    """replace_with needs SDK 3.207 and replacement_trigger SDK 3.214; the CLI needs 3.226."""
    import inspect
    import re
    import tomllib

    import pulumi

    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    (pulumi_requirement,) = [r for r in project["dependencies"] if r.startswith("pulumi>=")]
    floor = re.search(r">=([0-9]+)\.([0-9]+)", pulumi_requirement)
    assert floor is not None
    assert (int(floor[1]), int(floor[2])) >= (3, 217)
    options = inspect.signature(pulumi.ResourceOptions).parameters
    assert {"replace_with", "replacement_trigger", "retain_on_delete"} <= set(options)
    assert callable(pulumi.require_pulumi_version)
    pulumi_yaml = yaml.safe_load((PROJECT_ROOT / "Pulumi.yaml").read_text())
    assert pulumi_yaml["requiredPulumiVersion"] == REQUIRED_CLI == ">=3.226.0"
    assert "3.226" in (PROJECT_ROOT / "docs" / "operating.md").read_text()


def test_the_program_requires_the_cli_range_before_declaring_anything(
    example_config: dict[str, Any],
) -> None:
    """Pulumi.yaml's range is enforced only from CLI 3.219; the program asks the engine."""
    from infra.plan.engine import run_program

    deployment = run_program("example", example_config, preview=True)
    assert deployment.required_versions == (REQUIRED_CLI,)


def test_the_scripts_that_run_the_suite_install_its_extras_themselves() -> None:
    """A .venv scripts/plan made lacks pytest and testinfra: whoever runs the suite asks for the
    test extras (ensure_venv upgrades a plain venv in place)."""
    for script in ("verify", "bench"):
        text = (PROJECT_ROOT / "scripts" / script).read_text(encoding="utf-8")
        assert "ensure_venv test" in text, script
    bench = (PROJECT_ROOT / "scripts" / "bench").read_text(encoding="utf-8")
    verify_branch = bench.split("--verify", 2)[2]
    assert "wireguard-go" in verify_branch and "ensure_venv test" in verify_branch
