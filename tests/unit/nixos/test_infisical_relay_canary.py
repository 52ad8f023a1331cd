"""The Infisical Relay enrollment token: a canary that must reach the relay, and nothing else.

The example stack runs no Infisical Relay, so its canary run never carries this token; here a
relay does, and the whole offline plan (render, plan.json, output, logs) is searched for it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

from infra.cli import app as cli
from infra.config.hosts import INFISICAL_RELAY_ENV_FILE
from infra.plan.document import plan_json
from tests.support.deployments import commands, deploy, plain_strings, stdin_secrets, unwrap
from tests.support.stacks import (
    EXAMPLE_AGE_KEY,
    canary_values,
    enable_infisical_relay,
    encrypt_sops_file,
    example_raw_config,
)

RELAY_TOKEN_CANARY = "CANARY-infisical-relay-enrollment-token-3c8e"


def _relay_stack(tmp_path: Path, document: dict[str, Any]) -> dict[str, Any]:
    raw = enable_infisical_relay(example_raw_config())
    document["relays"] = {raw["relays"][0]["name"]: {"infisical_relay_token": RELAY_TOKEN_CANARY}}
    secrets_file = encrypt_sops_file(tmp_path / "canary.sops.yaml", document)
    raw["sops"] = {"file": str(secrets_file), "age_key_file": str(EXAMPLE_AGE_KEY)}
    return raw


def test_relay_enrollment_token_reaches_no_file_output_or_log(
    tmp_path: Path,
    canary_document: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    raw = _relay_stack(tmp_path, canary_document)
    config = {f"relaymd-infra:{key}": value for key, value in raw.items()}
    (tmp_path / "Pulumi.canary.yaml").write_text(yaml.safe_dump({"config": config}))
    out = tmp_path / "rendered"
    arguments = ["plan", "--stack", "canary", "--project-dir", str(tmp_path), "--out", str(out)]
    assert cli.main(arguments) == 0
    captured = capfd.readouterr()
    files = {path: path.read_text() for path in out.rglob("*") if path.is_file()}
    relay_configuration = out / "nixos" / "relaymd-relay" / "configuration.nix"
    # The relay does run one, from the root-only file: the render is not vacuously clean.
    assert "enable = true;" in files[relay_configuration]
    assert INFISICAL_RELAY_ENV_FILE.path in files[relay_configuration]
    secrets = [RELAY_TOKEN_CANARY, *canary_values(canary_document)]
    for haystack in (captured.out, captured.err, caplog.text, *files.values()):
        assert [secret for secret in secrets if secret in haystack] == []


def test_relay_enrollment_token_travels_only_as_a_secret_to_its_delivery_steps(
    tmp_path: Path, canary_document: dict[str, Any]
) -> None:
    deployment = deploy(_relay_stack(tmp_path, canary_document))
    relay_commands = commands(deployment, "relaymd-relay")
    # The install stages it with --extra-files; the secrets step redelivers it when it changes.
    carriers = [relay_commands["install"], relay_commands["secrets"]]
    for carrier in carriers:
        assert not [t for t in plain_strings(carrier.inputs) if RELAY_TOKEN_CANARY in t]
        assert rpc.is_rpc_secret(carrier.inputs["stdin"])
        assert stdin_secrets(carrier)["host/infisical-relay-token"] == (
            f"INFISICAL_RELAY_ENROLLMENT_TOKEN={RELAY_TOKEN_CANARY}\n"
        )
    # Nowhere else: not the update, not the environments, not plan.json.
    others = [r for r in deployment.resources if all(r is not c for c in carriers)]
    assert not [r.name for r in others if RELAY_TOKEN_CANARY in str(unwrap(r.inputs))]
    assert RELAY_TOKEN_CANARY not in plan_json(deployment)
