"""scripts/plan's behaviour: the table, the written tree, re-runs, and the --check gate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import infra.plan.render
from infra.cli import app as cli
from infra.ground.contract import RENDER_MARKER
from infra.plan.files import differing_files
from tests.support.golden import GOLDEN, MODULES, REFRESH, golden_part, repository_modules


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def copy_tree(source: Path, target: Path) -> Path:
    """A committed copy of a render, as a repository would hold it."""
    for relative, content in tree_bytes(source).items():
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_bytes(content)
    return target


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan") / "example"
    assert cli.main(["plan", "--out", str(out)]) == 0
    return out


def test_plan_prints_table_and_summary(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["plan", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0].startswith("TYPE")
    assert "pulumi:providers:tailscale" in captured.out
    assert "Plan for stack example:" in captured.out
    assert "==> Running the Pulumi program under the mock engine" in captured.err


def test_plan_json_follows_the_contract(rendered: Path) -> None:
    document = json.loads((rendered / "plan.json").read_text())
    assert set(document) == {"stack", "resources", "outputs"}
    assert document["stack"] == "example"
    for resource in document["resources"]:
        assert set(resource) == {"type", "name", "parent", "inputs"}
        assert resource["parent"] is None or isinstance(resource["parent"], str)
    keys = [(r["type"], r["name"]) for r in document["resources"]]
    assert keys == sorted(keys)


def test_rerun_is_byte_identical(rendered: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert cli.main(["plan", "--out", str(again)]) == 0
    assert tree_bytes(again) == tree_bytes(rendered)


def test_check_passes_on_a_fresh_render(rendered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--check", str(rendered)]) == 0
    assert "matches a fresh render" in capsys.readouterr().out


def test_check_lists_changed_missing_and_stale_files(
    rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = copy_tree(rendered, tmp_path / "committed")
    (committed / "plan.json").write_text("{}\n")
    (committed / "infisical" / "secrets.json").unlink()
    (committed / "old.nix").write_text("{ }\n")
    assert cli.main(["plan", "--check", str(committed)]) == 1
    out = capsys.readouterr().out
    assert "plan.json: content differs" in out
    assert "infisical/secrets.json: missing from" in out
    assert "old.nix: no longer rendered" in out


def test_the_golden_copy_is_what_the_example_renders(rendered: Path) -> None:
    """The GitOps gate on this repository's own example stack, shared modules aside."""
    fresh = {
        relative: content.decode("utf-8")
        for relative, content in tree_bytes(rendered).items()
        if relative != RENDER_MARKER
    }
    differences = differing_files(GOLDEN, golden_part(fresh))
    assert differences == [], f"{GOLDEN} is stale; refresh it with: {REFRESH}"


def test_a_render_copies_every_repository_module_verbatim(rendered: Path) -> None:
    """The other half of the golden copy: its shared modules are nixos/*.nix, byte for byte."""
    modules = {
        relative.removeprefix(MODULES): content
        for relative, content in tree_bytes(rendered).items()
        if relative.startswith(MODULES)
    }
    assert modules == {module.name: module.read_bytes() for module in repository_modules()}
    assert modules, "the example renders shared modules"


def test_check_compares_bytes_so_a_crlf_copy_differs(
    rendered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = copy_tree(rendered, tmp_path / "committed")
    policy = committed / "tailscale" / "policy.hujson"
    policy.write_bytes(policy.read_bytes().replace(b"\n", b"\r\n"))
    assert cli.main(["plan", "--check", str(committed)]) == 1
    assert "tailscale/policy.hujson: content differs" in capsys.readouterr().out


def test_out_replaces_an_earlier_render_and_drops_stale_files(rendered: Path) -> None:
    (rendered / "stale.nix").write_text("{ }\n")
    assert cli.main(["plan", "--out", str(rendered)]) == 0
    assert not (rendered / "stale.nix").exists()
    assert (rendered / RENDER_MARKER).is_file()
    assert [p.name for p in rendered.parent.iterdir() if p.name.startswith(".")] == []


def test_an_internal_error_exits_3_without_a_traceback_unless_asked(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("CANARY-internal-5a1c")

    monkeypatch.setattr(infra.plan.render, "decide_stack", broken)
    assert cli.main(["plan", "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "internal error: RuntimeError" in err and "--debug" in err
    assert "Traceback" not in err and "CANARY" not in err
    assert not (tmp_path / "out").exists()
    assert cli.main(["plan", "--debug", "--out", str(tmp_path / "out")]) == 3
    assert "Traceback" in capsys.readouterr().err


def test_a_misspelt_provider_input_exits_3_naming_resource_path_and_nearest_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import pulumi_proxmoxve as proxmoxve

    def misspelt_cpu(**kwargs: object) -> dict[str, object]:
        return {"cores": kwargs["cores"], "typ": kwargs["type"]}

    monkeypatch.setattr(proxmoxve, "VmLegacyCpuArgs", misspelt_cpu)
    assert cli.main(["plan", "--out", str(tmp_path / "out")]) == 3
    err = capsys.readouterr().err
    assert "proxmoxve:index/vmLegacy:VmLegacy 'relay-1-vm': input 'cpu.typ'" in err
    assert "nearest valid name: 'type'" in err
    assert not (tmp_path / "out").exists()
