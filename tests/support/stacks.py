"""Building test stacks: the example's config, variants of it, and real SOPS files."""

from __future__ import annotations

import copy
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from infra.config.loading import read_stack_file
from infra.config.sops import sops_binary
from infra.ground.project import PROJECT_ROOT

EXAMPLE_AGE_KEY = PROJECT_ROOT / "secrets" / "example.insecure-age-key.txt"
CANARY_PREFIX = "CANARY"


def example_raw_config() -> dict[str, Any]:
    """A deep copy of Pulumi.example.yaml's project settings, safe to modify."""
    return copy.deepcopy(read_stack_file(PROJECT_ROOT, "example"))


def age_public_key(identity_file: Path) -> str:
    for line in identity_file.read_text().splitlines():
        if line.startswith("# public key: "):
            return line.removeprefix("# public key: ").strip()
    raise ValueError(f"{identity_file} has no '# public key:' line")


def encrypt_sops_file(
    path: Path, document: dict[str, Any], identity_file: Path = EXAMPLE_AGE_KEY
) -> Path:
    """Write ``document`` to ``path`` encrypted by the real sops binary for one age key."""
    plain = path.with_suffix(".plain.yaml")
    plain.write_text(yaml.safe_dump(document))
    encrypted = subprocess.run(
        [
            sops_binary(),
            "--encrypt",
            "--age",
            age_public_key(identity_file),
            "--input-type",
            "yaml",
            "--output-type",
            "yaml",
            str(plain),
        ],
        # Run beside the file so the project's .sops.yaml creation rules do not apply.
        capture_output=True,
        check=True,
        timeout=60,
        cwd=path.parent,
    ).stdout
    plain.unlink()
    path.write_bytes(encrypted)
    return path


def example_secrets_document() -> dict[str, Any]:
    """The example stack's decrypted secrets (the throwaway identity opens them)."""
    output = subprocess.run(
        [
            sops_binary(),
            "--decrypt",
            "--output-type",
            "json",
            str(PROJECT_ROOT / "secrets" / "example.sops.yaml"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
        env={"SOPS_AGE_KEY_FILE": str(EXAMPLE_AGE_KEY), "PATH": "/usr/bin:/bin"},
    ).stdout
    document: dict[str, Any] = json.loads(output)
    return document


def canary_secrets_document() -> dict[str, Any]:
    """Every secret value replaced by a unique, greppable canary."""
    document = example_secrets_document()

    def replace(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {
                key: replace(value, f"{path}.{key}" if path else key) for key, value in node.items()
            }
        canary = f"{CANARY_PREFIX}-{path.replace('.', '-')}-7f3a9c"
        # INFISICAL_TOKEN must keep its <client_id>:<client_secret> shape.
        return f"{canary}-id:{canary}-secret" if path == "orchestrator.infisical_token" else canary

    canaries: dict[str, Any] = replace(document, "")
    return canaries


def canary_values(document: dict[str, Any]) -> Iterator[str]:
    for value in document.values():
        if isinstance(value, dict):
            yield from canary_values(value)
        else:
            yield str(value)


def stack_with_secrets(
    tmp_path: Path, document: dict[str, Any], raw_config: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A raw stack config whose SOPS file (in tmp_path) holds ``document``."""
    raw = raw_config if raw_config is not None else example_raw_config()
    secrets_file = encrypt_sops_file(tmp_path / "stack.sops.yaml", document)
    raw["sops"] = {"file": str(secrets_file), "age_key_file": str(EXAMPLE_AGE_KEY)}
    return raw


TEST_INFISICAL_CLI_SHA256 = "sha256-" + "A" * 43 + "="
"""A well-formed SRI hash for test stacks with an Infisical Relay: nothing is ever fetched
with it (the real one is recorded in nixos/nixpkgs-pin.json by scripts/nixpkgs-pin)."""


def enable_infisical_relay(raw: dict[str, Any], index: int = 0) -> dict[str, Any]:
    """Turn on relays[index]'s Infisical Relay, with a (test) hash for the CLI it runs."""
    raw["relays"][index]["infisical_relay"] = True
    cli = raw.setdefault("nixos", {}).setdefault("infisical_cli", {})
    cli.setdefault("version", "0.43.121")
    cli.setdefault("sha256", TEST_INFISICAL_CLI_SHA256)
    return raw
