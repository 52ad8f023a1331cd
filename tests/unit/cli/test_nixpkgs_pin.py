"""scripts/nixpkgs-pin: the hash conversion against real Nix, and its commands with stand-ins."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from infra.cli import app
from infra.config.pin import PIN_MANIFEST, committed_pin, manifest_text, parse_manifest
from infra.nixos import pin
from tests.support.stand_ins import RECORD_ARGV_PY, put_first_on_path

REVISION = "c9172fa5143fc64dc6a499f75f57def6b7e26794"


def test_base32_converts_to_the_sri_hash_of_the_same_tree(tmp_path: Path) -> None:
    nix_hash = shutil.which("nix-hash")
    if nix_hash is None:
        pytest.skip("nix-hash is not installed (scripts/test installs Debian's nix-bin)")
    tree = tmp_path / "tree"
    (tree / "lib").mkdir(parents=True)
    (tree / "lib" / "default.nix").write_text("{ }\n")

    def hashed(*flags: str) -> str:
        command = [nix_hash, "--type", "sha256", *flags, str(tree)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout.strip()

    expected = "sha256-" + base64.b64encode(bytes.fromhex(hashed())).decode()
    assert pin.nix_base32_to_sri(hashed("--base32")) == expected


@pytest.mark.parametrize("digest", ["", "e" * 52, "0" * 51, "z" * 52])
def test_anything_but_a_nix_base32_sha256_is_refused(digest: str) -> None:
    with pytest.raises(ValueError, match=r"base-32 SHA-256|256 bits"):
        pin.nix_base32_to_sri(digest)


# The tools as the command runs them: git (ls-remote, a one-commit fetch, its date),
# nix-prefetch-url (an unpacked tree with --print-path: the hash, then the path; a file: the
# hash) and nix-instantiate (the tree's release, then the versions).
STAND_IN = (
    RECORD_ARGV_PY
    + """name = os.path.basename(sys.argv[0])
if name == "git":
    if "ls-remote" in sys.argv:
        print(os.environ["HEAD_REVISION"] + "\\trefs/heads/nixos-26.05")
    elif "show" in sys.argv:
        print("1790000000")
elif name == "nix-prefetch-url":
    print("path is '/nix/store/x-source'", file=sys.stderr)
    if "--unpack" in sys.argv:
        print("0" * 51 + "1")
        print("/nix/store/00000000000000000000000000000000-source")
    else:
        print("0" * 51 + "2")
elif name == "nix-instantiate":
    expression = sys.argv[-1]
    if "trivial.release" in expression:
        print(json.dumps(os.environ.get("TREE_RELEASE", "26.05")))
    else:
        names = re.findall(r'"([a-z-]+)"', expression.rsplit("[", 1)[1])
        print(json.dumps({n: "9.9." + str(len(n)) for n in names}))
"""
).replace("import json, os, sys", "import json, os, re, sys")
TOOLS = ("git", "nix-prefetch-url", "nix-instantiate")


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "nixpkgs-pin.json"
    path.write_text(PIN_MANIFEST.read_text())
    return path


def test_writes_the_manifest_for_the_branch_head_with_every_version_read(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    manifest: Path,
) -> None:
    calls = put_first_on_path(monkeypatch, tmp_path / "bin", TOOLS, STAND_IN)
    monkeypatch.setenv("HEAD_REVISION", REVISION)
    assert app.main(["nixpkgs-pin", "--manifest", str(manifest)]) == 0
    argv = [json.loads(line) for line in calls.read_text().splitlines()]
    assert argv[0] == [
        "git",
        "ls-remote",
        "https://github.com/NixOS/nixpkgs",
        "refs/heads/nixos-26.05",
    ]
    fetch = next(a for a in argv if "fetch" in a)
    assert fetch[-2:] == ["https://github.com/NixOS/nixpkgs", REVISION]
    assert "--filter=tree:0" in fetch and "--depth=1" in fetch
    assert [
        "nix-prefetch-url",
        "--unpack",
        "--print-path",
        "--type",
        "sha256",
        f"https://github.com/NixOS/nixpkgs/archive/{REVISION}.tar.gz",
    ] in argv
    assert [
        "nix-prefetch-url",
        "--type",
        "sha256",
        "https://github.com/Infisical/cli/releases/download/v0.43.121/"
        "cli_0.43.121_linux_amd64.tar.gz",
    ] in argv
    written = parse_manifest(manifest.read_text())
    assert manifest.read_text() == manifest_text(written)
    assert written.revision == REVISION
    assert written.nar_hash == "sha256-" + base64.b64encode(b"\x01" + bytes(31)).decode()
    assert written.committed == date(2026, 9, 21)  # 1790000000, UTC
    assert written.versions_read == "evaluated"
    previous = committed_pin()
    assert list(written.packages) == list(previous.packages)
    for name, entry in written.packages.items():
        assert entry.version == entry.at_least == entry.at_most == "9.9." + str(len(name))
    assert written.infisical_cli.version == "0.43.121"
    assert written.infisical_cli.hashes == {
        "x86_64-linux": "sha256-" + base64.b64encode(b"\x02" + bytes(31)).decode()
    }
    out = capsys.readouterr().out
    assert f"Wrote {manifest}: nixos-26.05 {REVISION} of 2026-09-21" in out
    assert f"  nixpkgs_revision: {REVISION}" in out


def test_a_tree_of_another_release_is_not_pinned(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    manifest: Path,
) -> None:
    put_first_on_path(monkeypatch, tmp_path / "bin", TOOLS, STAND_IN)
    monkeypatch.setenv("HEAD_REVISION", REVISION)
    monkeypatch.setenv("TREE_RELEASE", "26.11")
    before = manifest.read_text()
    assert app.main(["nixpkgs-pin", "--manifest", str(manifest)]) == 3
    assert "says it is release 26.11, not 26.05" in capsys.readouterr().err
    assert manifest.read_text() == before


def test_a_branch_that_is_not_a_release_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["nixpkgs-pin", "--branch", "nixos-unstable"]) == 2
    assert "expected nixos-YY.05 or nixos-YY.11" in capsys.readouterr().err


def test_an_infisical_cli_that_is_not_a_version_is_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert app.main(["nixpkgs-pin", "--infisical-cli", "latest"]) == 2
    assert "expected a version like 0.43.121" in capsys.readouterr().err
