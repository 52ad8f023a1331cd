"""scripts/plan --review: the command line, its formats and its errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.cli import app as cli
from infra.ground.project import PROJECT_ROOT
from tests.support.golden import whole_render


def test_review_against_the_committed_render(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert cli.main(["plan", "--review", str(whole_render(tmp_path / "base"))]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<!-- relaymd-infra review: stack example -->\n")
    assert "0 resources to change" in out
    assert "**Hosts: no change**" in out


def test_text_format_and_budget(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    base = whole_render(tmp_path / "base")
    (base / "nixos" / "relaymd-relay" / "configuration.nix").write_text("{ }\n")
    assert cli.main(["plan", "--review", str(base), "--format", "text", "--budget", "800"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Stack example vs ")
    assert "relaymd-relay: switch (configuration.nix changed)" in out
    assert len(out) <= 800
    assert out.rstrip().endswith("--format text --budget 0")


def test_missing_base_dir_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["plan", "--review", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "BASE_DIR" in err and "scripts/plan --out DIR" in err


@pytest.mark.parametrize(
    ("plan_text", "named"),
    [
        ("{not json", 'plan.json: got "unreadable'),
        ('{"stack": "example"}', "plan.json: got \"no 'resources' list\""),
        ('{"resources": [{"type": "t"}]}', 'plan.json resources[0]: got "not a resource"'),
        ("[" * 100_000 + "]" * 100_000, 'plan.json: got "unreadable'),
    ],
)
def test_unreadable_plan_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, plan_text: str, named: str
) -> None:
    base = whole_render(tmp_path / "base")
    (base / "plan.json").write_text(plan_text)
    assert cli.main(["plan", "--review", str(base)]) == 2
    assert named in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [
        ["--format", "text"],
        ["--budget", "100"],
        ["--review", "x", "--check", "y"],
        ["--review", "x", "--budget", "-1"],
        ["--review", "x", "--format", "html"],
    ],
)
def test_option_misuse_exits_2(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["plan", *arguments])
    assert stopped.value.code == 2


def test_byte_identical_across_processes(tmp_path: Path) -> None:
    """Set and dict orders differ between processes (hash seeds); the review must not."""
    base = whole_render(tmp_path / "base")
    policy = base / "tailscale" / "policy.hujson"
    policy.write_text(policy.read_text().replace("36158", "9000"))
    (base / "nixos" / "relaymd-relay" / "configuration.nix").write_text("{ }\n")
    outputs = set()
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-m", "infra.cli", "plan", "--review", str(base)],
            env={**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(PROJECT_ROOT)},
            capture_output=True,
            check=True,
            timeout=120,
            cwd=PROJECT_ROOT,
        )
        outputs.add(result.stdout)
    assert len(outputs) == 1
    assert b"may no longer reach the orchestrator on tcp/9000" in outputs.pop()


def _symlinked_module(base: Path) -> None:
    module = next((base / "nixos" / "modules").glob("*.nix"))
    module.unlink()
    module.symlink_to("/etc/passwd")


def _binary_module(base: Path) -> None:
    next((base / "nixos" / "modules").glob("*.nix")).write_bytes(b"\xff\xfe{ }")


@pytest.mark.parametrize(
    ("damage", "named"),
    [
        (_symlinked_module, 'got "a symbolic link"'),
        (_binary_module, 'got "not UTF-8 (offset 0)"'),
    ],
)
def test_a_base_file_that_no_render_writes_exits_2_and_is_never_quoted(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, damage: Any, named: str
) -> None:
    base = whole_render(tmp_path / "base")
    damage(base)
    assert cli.main(["plan", "--review", str(base)]) == 2
    captured = capsys.readouterr()
    assert named in captured.err and "nixos/modules/" in captured.err
    assert "root:" not in captured.out + captured.err
