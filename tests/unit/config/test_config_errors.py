"""Bad input stops at the edge: one clear message, exit status 2, nothing declared."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import app as cli
from infra.ground.errors import ConfigIssue
from infra.plan import engine
from tests.support.stacks import (
    EXAMPLE_AGE_KEY,
    encrypt_sops_file,
    example_raw_config,
    example_secrets_document,
)

STACK = "bad"


@pytest.fixture
def nothing_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("the program ran although the configuration is invalid")

    monkeypatch.setattr(engine, "run_program", refuse)


def write_project(root: Path, raw: dict[str, Any], secrets: dict[str, Any] | None = None) -> Path:
    """A project directory with Pulumi.bad.yaml and its SOPS file, as a user would have."""
    (root / "secrets").mkdir(exist_ok=True)
    if secrets is not None:
        encrypt_sops_file(root / "secrets" / f"{STACK}.sops.yaml", secrets)
    raw = {**raw, "sops": {"age_key_file": str(EXAMPLE_AGE_KEY)}}
    config = {f"relaymd-infra:{key}": value for key, value in raw.items()}
    (root / f"Pulumi.{STACK}.yaml").write_text(yaml.safe_dump({"config": config}))
    return root


def plan_errors(root: Path, capsys: pytest.CaptureFixture[str]) -> str:
    status = cli.main(["plan", "--stack", STACK, "--project-dir", str(root)])
    captured = capsys.readouterr()
    assert status == 2, captured
    assert captured.out == ""
    return captured.err


Mutation = Callable[[dict[str, Any]], None]


def _relay(raw: dict[str, Any], index: int = 0) -> dict[str, Any]:
    relay: dict[str, Any] = raw["relays"][index]
    return relay


def _second_relay(raw: dict[str, Any], **changes: Any) -> None:
    raw["relays"].append(
        {
            **_relay(raw),
            "name": "relay-2",
            "address": "10.100.10.3/24",
            "tailnet_hostname": "relaymd-relay-2",
            **changes,
        }
    )


CONFIG_CASES: dict[str, tuple[Mutation, str, str, str]] = {
    # case: (mutation, dotted path, shown value, words of the expectation)
    "a project stock RelayMD does not read": (
        lambda raw: raw["infisical"].update(project_id="5f2c9a1e-0000-4000-8000-000000000000"),
        "infisical.project_id",
        '"5f2c9a1e-0000-4000-8000-000000000000"',
        "infisical.custom_relaymd_build: true",
    ),
    "an environment stock RelayMD does not read": (
        lambda raw: raw["infisical"].update(environment="production"),
        "infisical.environment",
        '"production"',
        "'prod', where stock RelayMD reads its secrets",
    ),
    "a path stock RelayMD does not read": (
        lambda raw: raw["infisical"].update(secret_path="/relaymd"),
        "infisical.secret_path",
        '"/relaymd"',
        "'/RelayMD'",
    ),
    "an Infisical stock RelayMD does not ask": (
        lambda raw: raw["infisical"].update(site_url="https://eu.infisical.com"),
        "infisical.site_url",
        '"https://eu.infisical.com"',
        "'https://app.infisical.com'",
    ),
    "an unknown storage provider": (
        lambda raw: raw["orchestrator"].update(storage_provider="s3"),
        "orchestrator.storage_provider",
        '"s3"',
        "cloudflare_backblaze",
    ),
    "invalid CIDR": (
        lambda raw: _relay(raw).update(address="10.100.10.300/24"),
        "relays[0].address",
        '"10.100.10.300/24"',
        "IPv4 address with prefix",
    ),
    "address is the network address": (
        lambda raw: _relay(raw).update(address="10.100.10.0/24"),
        "relays[0].address",
        '"10.100.10.0/24"',
        "not the network address",
    ),
    "address is the broadcast address": (
        lambda raw: _relay(raw).update(address="10.100.10.255/24"),
        "relays[0].address",
        '"10.100.10.255/24"',
        "not its broadcast address",
    ),
    "gateway outside the subnet": (
        lambda raw: _relay(raw).update(gateway="10.100.11.1"),
        "relays[0].gateway",
        '"10.100.11.1"',
        "inside the relay's subnet",
    ),
    "VLAN above 4094": (
        lambda raw: _relay(raw).update(vlan=4095),
        "relays[0].vlan",
        "4095",
        "less than or equal to 4094",
    ),
    "VLAN zero": (
        lambda raw: _relay(raw).update(vlan=0),
        "relays[0].vlan",
        "0",
        "greater than or equal to 1",
    ),
    "VLAN written as a boolean": (
        lambda raw: _relay(raw).update(vlan=True),
        "relays[0].vlan",
        "true",
        "a whole number, not true/false",
    ),
    "port written as a boolean": (
        lambda raw: raw["orchestrator"].update(port=True),
        "orchestrator.port",
        "true",
        "a whole number, not true/false",
    ),
    "port above 65535": (
        lambda raw: raw["orchestrator"].update(port=70000),
        "orchestrator.port",
        "70000",
        "less than or equal to 65535",
    ),
    "port zero": (
        lambda raw: raw["orchestrator"].update(ssh_port=0),
        "orchestrator.ssh_port",
        "0",
        "greater than or equal to 1",
    ),
    "API port is the SSH port": (
        lambda raw: raw["orchestrator"].update(port=2222, ssh_port=2222),
        "orchestrator.port",
        "2222",
        "a port other than orchestrator.ssh_port (2222)",
    ),
    "tag with capitals": (
        lambda raw: raw["tailnet"].update(tags={"worker": "tag:Relay_Worker"}),
        "tailnet.tags.worker",
        '"tag:Relay_Worker"',
        "tag:[a-z0-9-]+",
    ),
    "tag without prefix": (
        lambda raw: raw["tailnet"].update(tags={"relay": "relaymd-relay"}),
        "tailnet.tags.relay",
        '"relaymd-relay"',
        "tag:[a-z0-9-]+",
    ),
    "two roles share a tag": (
        lambda raw: raw["tailnet"].update(
            admins=["autogroup:admin"], tags={"worker": "tag:relaymd-relay"}
        ),
        "tailnet.tags.relay",
        '"tag:relaymd-relay"',
        "a tag different from tailnet.tags.worker",
    ),
    "a RelayMD tag among the admins": (
        lambda raw: raw["tailnet"].update(admins=["alice@example.org", "tag:relaymd-worker"]),
        "tailnet.admins[1]",
        '"tag:relaymd-worker"',
        "a user's e-mail address or one of autogroup:admin",
    ),
    "an undeclared group among the admins": (
        lambda raw: raw["tailnet"].update(admins=["group:ops"]),
        "tailnet.admins[0]",
        '"group:ops"',
        "group: and tag: owners would be undefined",
    ),
    "hostname not a DNS label": (
        lambda raw: raw["orchestrator"].update(tailnet_hostname="relaymd_orchestrator"),
        "orchestrator.tailnet_hostname",
        '"relaymd_orchestrator"',
        "a DNS label",
    ),
    "relay hostname too long": (
        lambda raw: _relay(raw).update(tailnet_hostname="r" * 64),
        "relays[0].tailnet_hostname",
        f'"{"r" * 64}"',
        "a DNS label",
    ),
    "duplicate relay name": (
        lambda raw: _second_relay(raw, name="relay-1"),
        "relays[1].name",
        '"relay-1"',
        "not already used by relays[0]",
    ),
    "duplicate relay address": (
        lambda raw: _second_relay(raw, address="10.100.10.2/25"),
        "relays[1].address",
        '"10.100.10.2"',
        "not already used by relays[0]",
    ),
    "unknown field": (
        lambda raw: _relay(raw).update(vlan_id=100),
        "relays[0].vlan_id",
        "100",
        "no such field",
    ),
    "data root escaping with ..": (
        lambda raw: raw["orchestrator"].update(data_root="/var/lib/../../etc"),
        "orchestrator.data_root",
        '"/var/lib/../../etc"',
        "no . or .. segments",
    ),
    "relay memory too small for the installer's kexec": (
        lambda raw: _relay(raw).update(memory_mb=1535),
        "relays[0].memory_mb",
        "1535",
        "greater than or equal to 1536",
    ),
    "orchestrator state version missing": (
        lambda raw: raw["orchestrator"].pop("state_version"),
        "orchestrator.state_version",
        "nothing",
        "the field is missing",
    ),
    "orchestrator state version not a release": (
        lambda raw: raw["orchestrator"].update(state_version="24.10"),
        "orchestrator.state_version",
        '"24.10"',
        "a NixOS release YY.05 or YY.11",
    ),
    "relay state version newer than the pin": (
        lambda raw: _relay(raw).update(state_version="26.11"),
        "relays[0].state_version",
        '"26.11"',
        "at most nixos.nixpkgs_release (26.05)",
    ),
    "orchestrator host key missing": (
        lambda raw: raw["orchestrator"].pop("ssh_host_key"),
        "orchestrator.ssh_host_key",
        "nothing",
        "the field is missing",
    ),
    "orchestrator host key not ED25519": (
        lambda raw: raw["orchestrator"].update(
            ssh_host_key="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"
        ),
        "orchestrator.ssh_host_key",
        '"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ"',
        "ssh-keyscan -t ed25519",
    ),
    "rotation not before expiry": (
        lambda raw: raw["keys"].update(worker_key_rotation_days=89, worker_key_expiry_days=30),
        "keys.worker_key_rotation_days",
        "89",
        "fewer days than keys.worker_key_expiry_days",
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_bad_config_names_field_value_and_fix(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_declared: None
) -> None:
    mutate, path, shown_value, expected = CONFIG_CASES[case]
    raw = example_raw_config()
    mutate(raw)
    message = plan_errors(write_project(tmp_path, raw, example_secrets_document()), capsys)
    assert f"{path}: got {shown_value}" in message
    assert expected in message
    assert "Traceback" not in message


def test_missing_required_config_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_declared: None
) -> None:
    raw = example_raw_config()
    del raw["orchestrator"]
    message = plan_errors(write_project(tmp_path, raw, example_secrets_document()), capsys)
    assert "orchestrator: got nothing (the field is missing)" in message


def test_unknown_top_level_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_declared: None
) -> None:
    root = write_project(tmp_path, example_raw_config(), example_secrets_document())
    stack_file = root / f"Pulumi.{STACK}.yaml"
    document = yaml.safe_load(stack_file.read_text())
    document["config"]["relaymd-infra:relay"] = []
    stack_file.write_text(yaml.safe_dump(document))
    message = plan_errors(root, capsys)
    assert "relaymd-infra:relay: got" in message
    assert "relaymd-infra:relays" in message


def test_missing_stack_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    message = plan_errors(tmp_path, capsys)
    assert f"Pulumi.{STACK}.yaml" in message


CANARY = "CANARY-never-print-me-4d1c"


def _without(path: str) -> Callable[[dict[str, Any]], None]:
    section, name = path.split(".")

    def remove(document: dict[str, Any]) -> None:
        del document[section][name]

    return remove


SECRET_CASES: dict[str, tuple[Mutation, str, str]] = {
    "missing RelayMD API token": (
        _without("relaymd.RELAYMD_API_TOKEN"),
        "relaymd.RELAYMD_API_TOKEN",
        "RelayMD components fail",
    ),
    "missing Axiom token": (
        _without("relaymd.AXIOM_TOKEN"),
        "relaymd.AXIOM_TOKEN",
        "RelayMD components fail",
    ),
    "missing Proxmox token with relays": (
        _without("proxmox.api_token"),
        "proxmox.api_token",
        "required",
    ),
    "missing orchestrator token": (
        _without("orchestrator.infisical_token"),
        "orchestrator.infisical_token",
        "required",
    ),
    "no Tailscale credential": (
        lambda d: d.update(tailscale={}),
        "tailscale",
        "oauth_client_id and oauth_client_secret",
    ),
    "INFISICAL_TOKEN without a colon": (
        lambda d: d["orchestrator"].update(infisical_token=CANARY),
        "orchestrator.infisical_token",
        "<client_id>:<client_secret>, both parts non-empty",
    ),
    "INFISICAL_TOKEN with an empty client secret": (
        lambda d: d["orchestrator"].update(infisical_token=f"{CANARY}:"),
        "orchestrator.infisical_token",
        "<client_id>:<client_secret>, both parts non-empty",
    ),
    "a storage secret the storage provider requires": (
        _without("relaymd.BUCKET_NAME"),
        "relaymd.BUCKET_NAME",
        "(orchestrator.storage_provider); add relaymd.BUCKET_NAME to the SOPS file",
    ),
    "a registry login stored for Infisical": (
        lambda d: d["relaymd"].update(APPTAINER_DOCKER_USERNAME=CANARY),
        "relaymd.APPTAINER_DOCKER_USERNAME",
        "orchestrator.apptainer_docker_username instead",
    ),
    "a registry user without its password": (
        lambda d: d["orchestrator"].update(apptainer_docker_username=CANARY),
        "orchestrator.apptainer_docker_username",
        "or neither",
    ),
    "a registry password on two lines": (
        lambda d: d["orchestrator"].update(
            apptainer_docker_username=CANARY, apptainer_docker_password=f"{CANARY}\nX=1"
        ),
        "orchestrator.apptainer_docker_password",
        "without control characters",
    ),
    "misspelt secret name": (
        lambda d: d["relaymd"].update(AXIOM_TOKN=CANARY),
        "relaymd.AXIOM_TOKN",
        "one of the catalog's names",
    ),
    "secret of the wrong type": (
        lambda d: d["tailscale"].update(api_key=[CANARY]),
        "tailscale.api_key",
        "string",
    ),
    "empty secret": (
        lambda d: d["relaymd"].update(AXIOM_TOKEN=""),
        "relaymd.AXIOM_TOKEN",
        "a non-empty value",
    ),
}


@pytest.mark.parametrize("case", sorted(SECRET_CASES))
def test_bad_secrets_name_field_never_value(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_declared: None
) -> None:
    mutate, path, expected = SECRET_CASES[case]
    secrets = example_secrets_document()
    mutate(secrets)
    message = plan_errors(write_project(tmp_path, example_raw_config(), secrets), capsys)
    assert f"{path}: got" in message
    assert expected in message
    assert CANARY not in message
    for section in secrets.values():
        for value in section.values() if isinstance(section, dict) else []:
            if isinstance(value, str) and len(value) > 8:
                assert value not in message


def test_sops_file_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_declared: None
) -> None:
    message = plan_errors(write_project(tmp_path, example_raw_config()), capsys)
    assert "sops.file: got" in message
    assert "an existing SOPS file" in message


def test_sops_file_not_decryptable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], nothing_declared: None
) -> None:
    stranger = tmp_path / "stranger.agekey"
    import subprocess

    subprocess.run(["age-keygen", "-o", str(stranger)], check=True, capture_output=True)
    root = tmp_path / "project"
    root.mkdir()
    (root / "secrets").mkdir()
    encrypt_sops_file(
        root / "secrets" / f"{STACK}.sops.yaml",
        {"relaymd": {"AXIOM_TOKEN": CANARY}},
        identity_file=stranger,
    )
    write_project(root, example_raw_config())
    message = plan_errors(root, capsys)
    assert "sops.file: got" in message
    assert "a file this machine can decrypt" in message
    assert CANARY not in message


def test_sops_that_never_answers_is_a_config_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    nothing_declared: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A hung key service (e.g. KMS) ends in a message, not a traceback."""
    import infra.config.sops

    hung = tmp_path / "hung-sops"
    hung.write_text("#!/bin/sh\nexec sleep 30\n")
    hung.chmod(0o755)
    monkeypatch.setattr(infra.config.sops, "sops_binary", lambda: str(hung))
    monkeypatch.setattr(infra.config.sops, "SOPS_TIMEOUT_SECONDS", 0.5)
    message = plan_errors(
        write_project(tmp_path, example_raw_config(), example_secrets_document()), capsys
    )
    assert "sops.file: got" in message
    assert "did not answer" in message


def test_a_long_value_or_key_is_quoted_in_part_and_a_control_character_escaped() -> None:
    issue = ConfigIssue("relaymd." + "K" * 5000 + "\n", "x" * 100_000, "a shorter value")
    line = issue.render()
    assert "\n" not in line
    assert "(4810 more characters)" in line  # the key, clipped after its escape
    assert "(99802 more characters)" in line  # the quoted value
    assert len(line) < 600
