"""scripts/nixos-build: its arguments and the exact Nix invocations, with stand-in Nix tools.

The real build needs the full pinned nixpkgs, which only a networked machine can fetch; here
stand-in ``nix-instantiate`` and ``nix-build`` record every argv and answer like the real ones.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from infra.cli import app
from infra.config.settings import DEFAULT_NIXPKGS_REVISION, DEFAULT_NIXPKGS_SHA256
from infra.ground.project import PROJECT_ROOT
from tests.support.stand_ins import RECORD_ARGV_PY, put_first_on_path

FETCHED = "/nix/store/0000000000000000000000000000000a-source"
STAND_IN = (
    RECORD_ARGV_PY
    + """failing = os.environ.get("FAIL_HOST", "-none-") + "/configuration.nix"
if "--eval" in sys.argv:
    print(json.dumps(os.environ["FETCHED"]))
elif any(argument.endswith(failing) for argument in sys.argv):
    sys.exit(1)
else:
    print("/nix/store/00000000000000000000000000000001-nixos-system")
"""
)


@pytest.fixture
def nix_calls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    calls = put_first_on_path(
        monkeypatch, tmp_path / "bin", ("nix-instantiate", "nix-build"), STAND_IN
    )
    monkeypatch.setenv("FETCHED", FETCHED)
    return calls


def recorded(calls: Path) -> list[list[str]]:
    return [json.loads(line) for line in calls.read_text().splitlines()]


def fetch_call() -> list[str]:
    expression = (
        "builtins.fetchTarball { url = "
        f'"https://github.com/NixOS/nixpkgs/archive/{DEFAULT_NIXPKGS_REVISION}.tar.gz"; '
        f'sha256 = "{DEFAULT_NIXPKGS_SHA256}"; }}'
    )
    return ["nix-instantiate", "--eval", "--read-write-mode", "--json", "--expr", expression]


def build_call(tool: str, tree: Path, host: str) -> list[str]:
    extra = ["--no-out-link"] if tool == "nix-build" else []
    return [
        tool,
        "<nixpkgs/nixos>",
        *extra,
        "-I",
        f"nixpkgs={FETCHED}",
        "-I",
        f"nixos-config={tree / host / 'configuration.nix'}",
        "-A",
        "config.system.build.toplevel",
    ]


def test_builds_every_host_of_the_stack_with_the_pinned_nixpkgs(
    nix_calls: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "tree"
    assert app.main(["nixos-build", "--out", str(tree)]) == 0
    assert recorded(nix_calls) == [
        fetch_call(),
        build_call("nix-build", tree, "relaymd-orchestrator"),
        build_call("nix-build", tree, "relaymd-relay"),
    ]
    # The tree it builds is the rendered one, shared modules included.
    assert (tree / "relaymd-relay" / "configuration.nix").is_file()
    assert (tree / "modules" / "tailnet-node.nix").is_file()


def test_eval_only_instantiates_one_host(nix_calls: Path, tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    status = app.main(["nixos-build", "--out", str(tree), "--host", "relaymd-relay", "--eval-only"])
    assert status == 0
    assert recorded(nix_calls) == [
        fetch_call(),
        build_call("nix-instantiate", tree, "relaymd-relay"),
    ]


def test_default_tree_is_under_the_projects_build_directory(
    nix_calls: Path, tmp_path: Path
) -> None:
    shutil.copy(PROJECT_ROOT / "Pulumi.example.yaml", tmp_path)
    arguments = ["--eval-only", "--host", "relaymd-orchestrator", "--project-dir", str(tmp_path)]
    assert app.main(["nixos-build", *arguments]) == 0
    expected = tmp_path / "build" / "example" / "nixos"
    assert recorded(nix_calls)[1] == build_call("nix-instantiate", expected, "relaymd-orchestrator")


def test_a_failing_host_fails_the_command_and_is_named(
    nix_calls: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("FAIL_HOST", "relaymd-orchestrator")
    assert app.main(["nixos-build", "--out", str(tmp_path / "tree")]) == 1
    # The other host is still built, so one run reports every broken host.
    assert len(recorded(nix_calls)) == 3
    assert "relaymd-orchestrator failed to build" in capsys.readouterr().err


def test_an_unknown_host_is_bad_input_naming_the_choices(
    nix_calls: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = app.main(["nixos-build", "--out", str(tmp_path / "tree"), "--host", "nope"])
    assert status == 2
    assert (
        "one of the stack's hosts: relaymd-orchestrator, relaymd-relay" in capsys.readouterr().err
    )
    assert not nix_calls.exists()


def test_an_unknown_stack_is_bad_input(nix_calls: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["nixos-build", "--stack", "missing"]) == 2
    assert "Pulumi.missing.yaml" in capsys.readouterr().err
