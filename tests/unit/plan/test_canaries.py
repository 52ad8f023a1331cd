"""Canary secrets: no secret value reaches plan.json, a rendered file, or any output line."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import app as cli
from infra.plan.engine import run_program
from tests.support.stacks import canary_values, encrypt_sops_file


def _canary_project(root: Path, raw: dict[str, Any], secrets: dict[str, Any]) -> Path:
    encrypt_sops_file(root / "canary.sops.yaml", secrets)
    raw = {
        **raw,
        "sops": {
            "file": str(root / "canary.sops.yaml"),
            "age_key_file": raw["sops"]["age_key_file"],
        },
    }
    config = {f"relaymd-infra:{key}": value for key, value in raw.items()}
    (root / "Pulumi.canary.yaml").write_text(yaml.safe_dump({"config": config}))
    return root


def test_full_plan_leaks_no_canary(
    tmp_path: Path,
    canary_stack: dict[str, Any],
    canary_document: dict[str, Any],
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    project = _canary_project(tmp_path, canary_stack, canary_document)
    out = tmp_path / "rendered"
    assert (
        cli.main(["plan", "--stack", "canary", "--project-dir", str(project), "--out", str(out)])
        == 0
    )
    captured = capfd.readouterr()
    written = "".join(p.read_text() for p in out.rglob("*") if p.is_file())
    canaries = list(canary_values(canary_document))
    assert len(canaries) >= 10
    for haystack in (captured.out, captured.err, caplog.text, written):
        assert [c for c in canaries if c in haystack] == []
    assert "[secret]" in written  # the secrets were there, masked


def _plain_and_secret_strings(value: Any, secret: bool = False) -> list[tuple[str, bool]]:
    from pulumi.runtime import rpc

    if rpc.is_rpc_secret(value):
        return _plain_and_secret_strings(rpc.unwrap_rpc_secret(value), True)
    if isinstance(value, dict):
        return [pair for item in value.values() for pair in _plain_and_secret_strings(item, secret)]
    if isinstance(value, list):
        return [pair for item in value for pair in _plain_and_secret_strings(item, secret)]
    return [(value, secret)] if isinstance(value, str) else []


def test_secret_inputs_reach_resources_only_as_pulumi_secrets(
    canary_stack: dict[str, Any],
) -> None:
    """Masking is not luck: SOPS values do reach resources, always wrapped as secrets."""
    deployment = run_program("example", canary_stack, preview=False)
    strings = [
        pair
        for resource in deployment.resources
        for pair in _plain_and_secret_strings(resource.inputs)
    ]
    plain_canaries = [text for text, secret in strings if "CANARY" in text and not secret]
    secret_canaries = {text for text, secret in strings if "CANARY" in text and secret}
    assert plain_canaries == []
    assert "CANARY-tailscale-oauth_client_secret-7f3a9c" in secret_canaries
    assert "CANARY-proxmox-api_token-7f3a9c" in secret_canaries
    # Infisical values: SOPS ones and the worker key, each an InfisicalSecret's secret input.
    assert "CANARY-relaymd-RELAYMD_API_TOKEN-7f3a9c" in secret_canaries


def test_the_worker_key_reaches_infisical_only_as_a_secret(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    from pulumi.runtime import rpc

    from infra.plan.document import plan_json
    from tests.support.deployments import deploy, host_key_canary

    deployment = deploy(canary_stack)
    written = deployment.named(
        "pulumi-python:dynamic/infisical:Secret", "infisical-TAILSCALE_AUTH_KEY"
    )
    value = written.inputs["secret_value"]
    assert rpc.is_rpc_secret(value)
    assert rpc.unwrap_rpc_secret(value) == host_key_canary("worker-key")
    plan = plan_json(deployment)
    leaked = [
        c for c in [host_key_canary("worker-key"), *canary_values(canary_document)] if c in plan
    ]
    assert leaked == []
