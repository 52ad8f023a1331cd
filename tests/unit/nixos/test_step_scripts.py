"""The pipeline's shell steps as files: shellcheck-clean, fully loaded, fed only by variables."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from fnmatch import fnmatch

import pytest

from infra.ground.contract import ENV_DEPLOY_PUBLIC_KEY, ENV_HOST, ENV_SSH_HOST_KEY
from infra.ground.project import PROJECT_ROOT
from infra.nixos.pipeline import CommandSpec
from infra.nixos.scripts import STEP_PARTS, STEPS_DIRECTORY, Step, step_script
from tests.unit.nixos.test_pipeline_scripts import orchestrator_pipeline, relay_pipeline

STEPS = PROJECT_ROOT / "infra" / "nixos" / STEPS_DIRECTORY
VARIABLE = re.compile(r"\bRELAYMD_[A-Z0-9_]+\b")


def step_files() -> list[str]:
    return sorted(path.name for path in STEPS.glob("*.sh"))


def command_specs() -> list[CommandSpec]:
    relay, orchestrator = relay_pipeline()[1], orchestrator_pipeline()[1]
    specs = [relay.deliver_secrets, relay.update, orchestrator.deliver_secrets, orchestrator.update]
    assert relay.install is not None
    return [relay.install, *specs]


@pytest.mark.parametrize("step", list(Step))
def test_each_step_passes_shellcheck(step: Step) -> None:
    """Checked as it runs: the parts together, so a variable one part sets and another reads
    is seen as both."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (scripts/test installs Debian's shellcheck)")
    result = subprocess.run(
        ["shellcheck", "--shell=bash", "--severity=style", "--format=gcc", "-"],
        input=step_script(step),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_file_in_steps_is_part_of_a_step() -> None:
    """A file no step uses would escape shellcheck and drift unseen."""
    used = {part for parts in STEP_PARTS.values() for part in parts}
    assert used == set(step_files())


def test_the_package_ships_every_step_file() -> None:
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as handle:
        package_data = tomllib.load(handle)["tool"]["setuptools"]["package-data"]
    patterns = package_data["infra.nixos"]
    assert all(
        any(fnmatch(f"{STEPS_DIRECTORY}/{name}", pattern) for pattern in patterns)
        for name in step_files()
    )


@pytest.mark.parametrize("step", list(Step))
def test_no_step_holds_a_placeholder_or_a_literal_timeout(step: Step) -> None:
    script = step_script(step)
    assert re.search(r"@[A-Z_]+@", script) is None
    assert re.search(r"\btimeout [0-9]", script) is None


@pytest.mark.parametrize(
    "spec", command_specs(), ids=lambda spec: f"{spec.environment[ENV_HOST]}-{spec.name}"
)
def test_a_command_sets_exactly_the_variables_its_scripts_read(spec: CommandSpec) -> None:
    """Nothing unread travels, nothing read is missing (bash runs them under ``set -u``)."""
    read = set(VARIABLE.findall(spec.script + (spec.update_script or "")))
    # A relay's keys exist only once its VM's do: the component adds their public halves.
    given = set(spec.environment) | ({ENV_DEPLOY_PUBLIC_KEY} if spec.name == "install" else set())
    if spec.environment[ENV_HOST] != "relaymd-orchestrator":
        given |= {ENV_SSH_HOST_KEY}
    assert read == given
