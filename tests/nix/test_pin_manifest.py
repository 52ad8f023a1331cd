"""The committed pin manifest (nixos/nixpkgs-pin.json) is the one source of package versions.

The suite's package stand-ins (tests/support/nix/pkgs.nix) read their versions from it, the
stack settings take their defaults from it, and where a version is only bounded the modules'
version checks must come out the same at both ends of the bound.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.config.pin import PIN_MANIFEST, committed_pin, manifest_text
from infra.config.settings import NixosSettings
from tests.nix.test_host_eval import RELAY, RELAY_2, failed_assertions
from tests.support.nixeval import (
    NIXPKGS_LIB,
    evaluate_host,
    evaluate_json,
    require_pinned_sources,
)

pytestmark = pytest.mark.nix

PKGS = Path(__file__).resolve().parent.parent / "support" / "nix" / "pkgs.nix"


def stand_in_versions() -> dict[str, str]:
    require_pinned_sources()
    lib = f'import "${{{NIXPKGS_LIB.fetch_expression}}}/lib"'
    names = " ".join(f'"{name}"' for name in committed_pin().packages)
    expression = (
        f'let pkgs = import {PKGS} {{ lib = {lib}; hostPlatform = "x86_64-linux"; }}; in '
        f"builtins.listToAttrs (map (name: {{ inherit name; value = pkgs.${{name}}.version; }}) "
        f"[ {names} ])"
    )
    versions: dict[str, str] = evaluate_json(expression)
    return versions


def test_the_manifest_is_as_scripts_nixpkgs_pin_writes_it() -> None:
    manifest = committed_pin()
    assert PIN_MANIFEST.read_text() == manifest_text(manifest)
    # Today's versions were bounded, not read: the manifest says so and why.
    if manifest.versions_read == "bounded":
        assert any("NOT evaluated" in line for line in manifest.evidence)


def test_every_stand_in_takes_its_version_from_the_manifest() -> None:
    packages = committed_pin().packages
    versions = stand_in_versions()
    assert versions == {
        name: entry.version if entry.version is not None else "unread"
        for name, entry in packages.items()
    }


def test_a_package_missing_from_the_manifest_has_no_stand_in(tmp_path: Path) -> None:
    """The stand-ins cannot grow a version of their own: with jq gone from the manifest, its
    stand-in fails evaluation and says where to add it."""
    require_pinned_sources()
    document = json.loads(PIN_MANIFEST.read_text())
    del document["packages"]["jq"]
    (tmp_path / "nixos").mkdir()
    (tmp_path / "nixos" / "nixpkgs-pin.json").write_text(json.dumps(document))
    copy = tmp_path / "tests" / "support" / "nix" / "pkgs.nix"
    copy.parent.mkdir(parents=True)
    copy.write_text(PKGS.read_text())
    lib = f'import "${{{NIXPKGS_LIB.fetch_expression}}}/lib"'
    stand_ins = f'(import {copy} {{ lib = {lib}; hostPlatform = "x86_64-linux"; }})'
    assert evaluate_json(f"{stand_ins}.curl.version") == "unread"
    with pytest.raises(AssertionError, match=r"jq is not in nixos/nixpkgs-pin\.json"):
        evaluate_json(f"{stand_ins}.jq.version")


def test_each_bounded_version_lies_within_its_bounds() -> None:
    from infra.nixos.pin import version_key

    for name, entry in committed_pin().packages.items():
        if entry.version is None:
            continue
        if entry.at_least is not None:
            assert version_key(entry.at_least) <= version_key(entry.version), name
        if entry.at_most is not None:
            assert version_key(entry.version) <= version_key(entry.at_most), name


def test_the_stack_defaults_are_the_manifests() -> None:
    manifest = committed_pin()
    nixos = NixosSettings()
    assert nixos.nixpkgs_revision == manifest.revision
    assert nixos.nixpkgs_sha256 == manifest.nar_hash
    assert nixos.nixpkgs_release == manifest.release
    assert nixos.infisical_cli is not None
    assert nixos.infisical_cli.version == manifest.infisical_cli.version
    assert nixos.infisical_cli.sha256 == manifest.infisical_cli.hashes["x86_64-linux"]


def fake_tailscale(version: str) -> str:
    return (
        '{ lib, ... }: { services.tailscale.package = lib.mkForce { type = "derivation"; '
        f'name = "tailscale-{version}"; version = "{version}"; meta.mainProgram = "tailscale"; '
        f'outPath = "/nix/store/00000000000000000000000000000000-tailscale-{version}"; }}; }}'
    )


@pytest.mark.parametrize("end", ["at_least", "at_most"])
def test_tailscale_at_either_end_of_its_bound_passes_every_check(full_tree: Path, end: str) -> None:
    """`--auth-key=file:` needs 1.16.0: true wherever the pin's tailscale lies in its bound."""
    version = getattr(committed_pin().packages["tailscale"], end)
    assert version is not None
    assert failed_assertions(full_tree, RELAY, fake_tailscale(version)) == []


def test_a_tailscale_without_file_keys_is_refused(full_tree: Path) -> None:
    """The control for the test above: the check is live."""
    [failed] = failed_assertions(full_tree, RELAY_2, fake_tailscale("1.14.6"))
    assert "tailscale 1.14.6 cannot read its auth key from a file" in failed


def fake_pins_infisical(version: str) -> str:
    """The pinned tree's own infisical at ``version`` (a package override, not a module)."""
    return (
        f'{{ infisical = {{ type = "derivation"; name = "infisical-{version}"; '
        f'version = "{version}"; meta.mainProgram = "infisical"; '
        f'outPath = "/nix/store/00000000000000000000000000000000-infisical-{version}"; }}; }}'
    )


@pytest.mark.parametrize("end", ["at_least", "at_most"])
def test_a_relays_infisical_does_not_depend_on_where_the_pins_lies(
    full_tree: Path, end: str
) -> None:
    """The pin's infisical is only bounded (from 0.41.90, no relay command, to 0.43.93, which
    has one), so by default a relay runs its own pinned release whatever the pin holds."""
    version = getattr(committed_pin().packages["infisical"], end)
    assert version is not None
    evaluated = evaluate_host(
        full_tree / RELAY / "configuration.nix", package_overrides=fake_pins_infisical(version)
    )
    assert evaluated["failedAssertions"] == []
    relay = evaluated["infisicalRelay"]
    assert relay["version"] == committed_pin().infisical_cli.version
    assert relay["src"] is not None


def test_the_pins_own_infisical_would_decide_differently_across_its_bound(
    full_tree: Path,
) -> None:
    """Why the default does not use it: at one end the relay cannot run, at the other it can."""
    verdicts = []
    for end in ("at_least", "at_most"):
        version = getattr(committed_pin().packages["infisical"], end)
        evaluated = evaluate_host(
            full_tree / RELAY / "configuration.nix",
            ("{ lib, ... }: { relaymd.infisicalRelay.cli = lib.mkForce null; }",),
            package_overrides=fake_pins_infisical(version),
        )
        verdicts.append(evaluated["failedAssertions"] == [])
    assert verdicts == [False, True]
