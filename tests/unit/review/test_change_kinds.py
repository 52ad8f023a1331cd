"""One pair of generated stacks per kind of change, and what the review says about it."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from infra.ground import catalog
from infra.ground.catalog import SecretEntry, Source
from infra.ground.project import PROJECT_ROOT
from infra.ground.relaymd import STORAGE_SECRETS, Consumer, StorageProvider
from infra.review.review import ReviewRequest, build_review
from infra.review.style import Format
from tests.support.review_stacks import render_files, with_relays
from tests.support.stacks import example_raw_config, example_secrets_document, stack_with_secrets

Change = Callable[[dict[str, Any]], dict[str, Any]]

# Another nixpkgs revision of the same release (any pinned tree will do: nothing is fetched).
OTHER_NIXPKGS = {
    "nixpkgs_revision": "8fd9daa3db09ced9700431c5b7ad0e8ba199b575",
    "nixpkgs_sha256": "sha256-Ti+ZBvW6yrWWAg2szExVTwCd4qOJ3KlVr1tFHfyfi8Q=",
}


@pytest.fixture(scope="module")
def base_files() -> dict[str, str]:
    return render_files(example_raw_config())


def review_of(base: dict[str, str], change: Change, fmt: Format = Format.TEXT) -> str:
    head = render_files(change(example_raw_config()))
    return build_review(base, head, ReviewRequest("example", "base", fmt, budget=0))


def top_lines(review: str) -> list[str]:
    """The headline and warnings: everything before the first section."""
    return review.split("\n\n", 1)[0].splitlines()


def set_port(raw: dict[str, Any]) -> dict[str, Any]:
    raw["orchestrator"]["port"] = 9000
    return raw


def more_cores(raw: dict[str, Any]) -> dict[str, Any]:
    raw["relays"][0]["cores"] = 4
    return raw


def fewer_admins(raw: dict[str, Any]) -> dict[str, Any]:
    raw["tailnet"]["admins"].remove("bob@example.org")
    return raw


def new_route(raw: dict[str, Any]) -> dict[str, Any]:
    raw["relays"][0]["advertise_routes"].append("10.200.0.0/24")
    return raw


def new_pin(raw: dict[str, Any]) -> dict[str, Any]:
    raw["nixos"] = {**raw.get("nixos", {}), **OTHER_NIXPKGS}
    return raw


def shorter_expiry(raw: dict[str, Any]) -> dict[str, Any]:
    raw["keys"]["worker_key_expiry_days"] = 80
    return raw


@dataclass(frozen=True)
class Said:
    """What the review of one change says: anywhere, in its headline (the first line), never;
    and, when ``quiet``, that it raises no warning."""

    anywhere: tuple[str, ...] = ()
    headline: tuple[str, ...] = ()
    never: tuple[str, ...] = ()
    quiet: bool = False


@pytest.mark.parametrize(
    ("change", "said"),
    [
        pytest.param(
            lambda raw: raw,
            Said(anywhere=("0 resources to change", "relaymd-relay: unchanged"), quiet=True),
            id="unchanged stack: no change",
        ),
        pytest.param(
            lambda raw: with_relays(2, raw),
            Said(
                anywhere=(
                    "- VmLegacy relay-2-vm (in relay-2)",
                    "- TailnetKey host-key-relaymd-relay-2 (in tailnet)",
                    "  - clone.vmId = 116",  # a created resource lists its inputs
                    "relaymd-relay-2: new host",
                    "+++ b/nixos/relaymd-relay-2/configuration.nix",
                ),
                headline=("0 replaced, 0 deleted",),
                quiet=True,
            ),
            id="new relay",
        ),
        pytest.param(
            more_cores,
            Said(
                anywhere=("  - cpu.cores: 2 → 4",), headline=("1 updated", "0 replaced"), quiet=True
            ),
            id="in-place vm change is an update",
        ),
        pytest.param(
            fewer_admins,
            Said(
                anywhere=("bob@example.org may no longer reach",),
                never=("widens access",),
                quiet=True,
            ),
            id="policy narrowing is no warning",
        ),
        pytest.param(
            new_route,
            Said(
                anywhere=(
                    "may now reach the network 10.200.0.0/24 on every port and protocol",
                    "relays may now advertise 10.200.0.0/24 without approval",
                    "This change widens access.",
                )
            ),
            id="new route widens access and approvals",
        ),
        pytest.param(
            new_pin,
            Said(
                anywhere=(
                    "relaymd-relay: switch (relaymd-relay-update is replaced)",
                    "relaymd-orchestrator: switch (relaymd-orchestrator-update is replaced)",
                ),
                quiet=True,
            ),
            id="new nixpkgs pin switches every host",
        ),
        pytest.param(
            shorter_expiry,
            # retain_on_delete: the replaced key is forgotten, not revoked, so no warning says so.
            Said(
                anywhere=(
                    "TailnetKey worker-key (in tailnet): replaced because expiry changed; retained "
                    "on delete, the old key is not revoked: it stays valid until its expiry",
                    "Secret infisical-TAILSCALE_AUTH_KEY (in infisical): follows worker-key: its "
                    "value becomes the new key, which workers read from Infisical",
                ),
                headline=("(1 replaced, 0 deleted, 0 created, 1 updated)",),
                quiet=True,
            ),
            id="worker key replacement keeps the old key",
        ),
    ],
)
def test_what_the_review_says_about_a_change(
    base_files: dict[str, str], change: Change, said: Said
) -> None:
    review = review_of(base_files, change)
    for words in said.anywhere:
        assert words in review
    for words in said.headline:
        assert words in top_lines(review)[0]
    for words in said.never:
        assert words not in review
    if said.quiet:
        assert not [line for line in top_lines(review) if line.startswith("WARNING")]


def test_port_change(base_files: dict[str, str]) -> None:
    review = review_of(base_files, set_port)
    assert (
        "alice@example.org, bob@example.org and workers may now reach the orchestrator on tcp/9000"
        in review
    )
    assert "may no longer reach the orchestrator on tcp/36158" in review
    assert "WARNING: the tailnet policy opens access:" in "\n".join(top_lines(review))
    # The switch: the orchestrator's configuration diff and its update command's trigger.
    assert "relaymd-orchestrator: switch (configuration.nix changed)" in review
    assert "-    port = 36158;" in review and "+    port = 9000;" in review
    update = next(line for line in review.splitlines() if "relaymd-orchestrator-update" in line)
    assert update.endswith("replaced because triggers changed")
    assert "RELAYMD_ORCHESTRATOR_URL:" in review
    # Its Infisical value is masked in plan.json, yet it moves with the URL output.
    assert (
        "- Secret infisical-RELAYMD_ORCHESTRATOR_URL (in infisical): its value becomes the new "
        "RELAYMD_ORCHESTRATOR_URL" in review
    )
    assert "workers (tag:relaymd-worker) may reach the orchestrator on port 9000" in review


def test_template_change_forces_replacement(base_files: dict[str, str]) -> None:
    def new_template(raw: dict[str, Any]) -> dict[str, Any]:
        raw["relays"][0]["template_id"] = 117
        return raw

    review = review_of(base_files, new_template)
    warnings = "\n".join(top_lines(review))
    assert (
        "WARNING: VM relay-1-vm is replaced: relay-1 reinstalls: the VM is replaced because "
        "template_id changed" in warnings
    )
    assert "key revoked: the provider deletes auth key host-key-relaymd-relay" in warnings
    assert "  - clone.vmId: 116 → 117" in review
    assert "relaymd-relay-install (in relaymd-relay): replaced with relay-1-vm" in review
    assert "PrivateKey relay-1-host-key (in relay-1): replaced with relay-1-vm: the new VM" in (
        review
    )
    assert "relaymd-relay: reinstall (relay-1-vm is replaced because template_id changed)" in (
        review
    )
    assert "4 replaced" in top_lines(review)[0]


def test_policy_widening_has_its_own_line(base_files: dict[str, str]) -> None:
    def new_admin(raw: dict[str, Any]) -> dict[str, Any]:
        raw["tailnet"]["admins"].append("carol@example.org")
        return raw

    review = review_of(base_files, new_admin)
    assert "This change widens access." in review
    opened = next(line for line in review.splitlines() if "carol@example.org may now reach" in line)
    assert "relays on tcp/22" in opened and "the orchestrator on tcp/36158" in opened
    assert "carol@example.org may now mint keys for tag:relaymd-worker" in review
    assert "carol@example.org may reach the orchestrator on port 36158" in review  # a new test
    assert any(
        "opens access: carol@example.org may now reach" in line for line in top_lines(review)
    )


def test_new_secret_name(base_files: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    entry = SecretEntry(
        "RELAYMD_NEW_TOKEN", False, (Consumer.WORKER,), Source.SOPS, "A token workers will read."
    )
    catalog_of = catalog.secret_catalog
    monkeypatch.setattr(catalog, "secret_catalog", lambda storage: (*catalog_of(storage), entry))
    review = review_of(base_files, copy.deepcopy)
    assert "Secrets: 1 name added" in review
    assert "- RELAYMD_NEW_TOKEN (optional, read by worker, source sops)" in review
    assert "Consumers affected: worker" in review
    assert "0 resources to change" in top_lines(review)[0]


def test_markdown_sections_collapse(base_files: dict[str, str]) -> None:
    review = review_of(base_files, set_port, Format.MARKDOWN)
    assert review.startswith("<!-- relaymd-infra review: stack example -->\n")
    assert review.count("<details>") == review.count("</details>") == 4
    assert "**Hosts: 1 switch**\n\n- **relaymd-orchestrator**: switch" in review
    assert "<summary>Hosts: details</summary>" in review
    assert "```diff" in review


def test_same_inputs_give_identical_bytes(base_files: dict[str, str]) -> None:
    first = review_of(base_files, set_port, Format.MARKDOWN)
    assert review_of(base_files, set_port, Format.MARKDOWN) == first


BUILD_FROM_JSON = """
import json, sys
from infra.review.review import ReviewRequest, build_review
from infra.review.style import Format
base, head = json.load(open(sys.argv[1]))
for fmt in Format:
    sys.stdout.write(build_review(base, head, ReviewRequest("example", "base", fmt, 3000)))
"""


def test_identical_bytes_across_processes(
    base_files: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set and dict orders vary with the hash seed between processes; the review must not."""
    entry = SecretEntry("RELAYMD_SHARED", False, tuple(Consumer), Source.SOPS, "Read by all.")
    catalog_of = catalog.secret_catalog
    monkeypatch.setattr(catalog, "secret_catalog", lambda storage: (*catalog_of(storage), entry))

    def many_kinds(raw: dict[str, Any]) -> dict[str, Any]:
        raw = with_relays(3, set_port(raw))
        raw["relays"][0]["template_id"] = 117
        raw["tailnet"]["admins"].append("carol@example.org")
        raw["keys"]["worker_key_expiry_days"] = 80
        raw["infisical"].update(secret_path="/Elsewhere", custom_relaymd_build=True)
        return raw

    pair = tmp_path / "pair.json"
    pair.write_text(json.dumps([base_files, render_files(many_kinds(example_raw_config()))]))
    outputs = {
        subprocess.run(
            [sys.executable, "-c", BUILD_FROM_JSON, str(pair)],
            capture_output=True,
            check=True,
            text=True,
            cwd=PROJECT_ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            timeout=120,
        ).stdout
        for seed in ("1", "2", "3")
    }
    (output,) = outputs
    assert "Infisical secrets move" in output and "RELAYMD_SHARED (optional" in output


def test_infisical_path_change_replaces_every_secret(base_files: dict[str, str]) -> None:
    def new_path(raw: dict[str, Any]) -> dict[str, Any]:
        raw["infisical"].update(secret_path="/Elsewhere", custom_relaymd_build=True)
        return raw

    review = review_of(base_files, new_path)
    written = sum(1 for line in review.splitlines() if line.startswith("- Secret infisical-"))
    assert written >= 10
    assert f"({written} replaced, 0 deleted" in top_lines(review)[0]
    assert (
        "Secret infisical-AXIOM_TOKEN (in infisical): replaced because infisical.secret_path "
        "changed" in review
    )
    assert f"WARNING: {written} Infisical secrets move (infisical.secret_path changed)" in (
        "\n".join(top_lines(review))
    )
    assert "Secrets: 1 location change" in top_lines(review)[0]
    assert "- secret_path: /RelayMD → /Elsewhere" in review


def test_storage_provider_switch(base_files: dict[str, str], tmp_path: Path) -> None:
    document = example_secrets_document()
    for name in STORAGE_SECRETS[StorageProvider.PURDUE]:
        document["relaymd"][name] = f"value of {name}"
    raw = example_raw_config()
    raw["orchestrator"]["storage_provider"] = "purdue"
    head = render_files(stack_with_secrets(tmp_path, document, raw))
    review = build_review(base_files, head, ReviewRequest("example", "base", Format.TEXT, 0))
    assert "- storage_provider: cloudflare_backblaze → purdue" in review
    assert "- B2_ENDPOINT: required → optional (read by worker, cli)" in review
    assert "- PURDUE_S3_ENDPOINT: optional → required (read by worker, cli)" in review
    assert "Consumers affected: cli, worker" in review
    assert "- Secret infisical-PURDUE_S3_ENDPOINT (in infisical)" in review  # a new write
    assert '+    storageProvider = "purdue";' in review
    assert "relaymd-orchestrator: switch (configuration.nix changed)" in review
