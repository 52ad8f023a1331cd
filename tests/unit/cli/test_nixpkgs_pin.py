"""scripts/nixpkgs-pin: the hash conversion against real Nix, and its commands with stand-ins."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from infra.cli import app
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


STAND_IN = (
    RECORD_ARGV_PY
    + """if os.path.basename(sys.argv[0]) == "git":
    print(os.environ["HEAD_REVISION"] + "\\trefs/heads/nixos-26.05")
else:
    print("path is '/nix/store/x-source'", file=sys.stderr)
    print("0" * 51 + "1")
"""
)


def test_prints_the_settings_for_the_branch_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls = put_first_on_path(monkeypatch, tmp_path / "bin", ("git", "nix-prefetch-url"), STAND_IN)
    monkeypatch.setenv("HEAD_REVISION", REVISION)
    assert (
        app.main(
            [
                "nixpkgs-pin",
            ]
        )
        == 0
    )
    assert [json.loads(line) for line in calls.read_text().splitlines()] == [
        ["git", "ls-remote", "https://github.com/NixOS/nixpkgs", "refs/heads/nixos-26.05"],
        [
            "nix-prefetch-url",
            "--unpack",
            "--type",
            "sha256",
            f"https://github.com/NixOS/nixpkgs/archive/{REVISION}.tar.gz",
        ],
    ]
    out = capsys.readouterr().out
    assert out.splitlines() == [
        "relaymd-infra:nixos:",
        '  nixpkgs_release: "26.05"',
        f"  nixpkgs_revision: {REVISION}",
        "  nixpkgs_sha256: sha256-" + base64.b64encode(b"\x01" + bytes(31)).decode(),
    ]


def test_a_branch_that_is_not_a_release_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["nixpkgs-pin", "--branch", "nixos-unstable"]) == 2
    assert "expected nixos-YY.05 or nixos-YY.11" in capsys.readouterr().err
