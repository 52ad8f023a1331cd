"""The decided stack: one pure value holding every decision, built without I/O."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from infra.config.hosts import OrchestratorHost, RelayHost
from infra.config.loading import parse_config
from infra.config.secrets import parse_secrets
from infra.config.sources import NixosSources, read_nixos_sources
from infra.ground.contract import ENV_SSH_TARGET
from infra.ground.errors import ConfigError, RefusedError
from infra.ground.fields import SshLogin
from infra.nixos.pipeline import DeployTimeSecret, JoinsTailnet
from infra.stack.decided import decide_stack
from tests.support.decided import decided_of, secrets_document_for
from tests.support.nixos_stacks import full_raw_config
from tests.support.stacks import enable_infisical_relay


def test_every_host_carries_its_spec_vm_files_and_pipeline(example_config: dict[str, Any]) -> None:
    stack = decided_of(example_config)
    orchestrator, relay = stack.hosts
    assert isinstance(orchestrator.spec, OrchestratorHost) and isinstance(relay.spec, RelayHost)
    assert not hasattr(orchestrator, "vm") and relay.vm is not None
    assert stack.relays == (relay,)
    # A host builds its own directory and the shared modules, never another host's.
    assert {path.split("/")[0] for path in relay.files} == {"relaymd-relay", "modules"}
    assert {path.split("/")[0] for path in orchestrator.files} == {
        "relaymd-orchestrator",
        "modules",
    }
    assert relay.pipeline.install is not None and orchestrator.pipeline.install is None
    assert relay.pipeline.joins_tailnet is JoinsTailnet.AT_INSTALL
    assert orchestrator.pipeline.joins_tailnet is JoinsTailnet.AT_SWITCH
    # The files the pipeline hashes and ships are exactly the rendered ones.
    for host in stack.hosts:
        assert host.pipeline.update.tree == host.files
        for path, text in host.files.items():
            assert stack.artifacts[f"nixos/{path}"] == text


def test_the_relay_ssh_target_is_derived_once_and_agrees_everywhere(
    example_config: dict[str, Any],
) -> None:
    relay = decided_of(example_config).relays[0]
    assert relay.spec.ssh == SshLogin("admin", "10.100.10.2")
    assert relay.vm is not None and relay.vm.cloud_init.admin_user == relay.spec.ssh.user
    for command in relay.pipeline.commands:
        assert command.environment[ENV_SSH_TARGET] == "admin@10.100.10.2"


def test_addresses_are_typed_values_past_the_edge(example_config: dict[str, Any]) -> None:
    relay = decided_of(example_config).config.relays[0]
    assert isinstance(relay.address, ipaddress.IPv4Interface)
    assert isinstance(relay.gateway, ipaddress.IPv4Address)
    assert all(isinstance(server, ipaddress.IPv4Address) for server in relay.nameservers)
    assert all(isinstance(route, ipaddress.IPv4Network) for route in relay.advertise_routes)


def test_the_stack_and_its_parts_are_frozen(example_config: dict[str, Any]) -> None:
    stack = decided_of(example_config)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stack.hosts = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        stack.artifacts["tailscale/policy.hujson"] = ""  # type: ignore[index]
    with pytest.raises(TypeError):
        stack.hosts[0].files["x"] = ""  # type: ignore[index]


def test_host_file_contents_come_from_sops_or_are_named_for_deploy_time() -> None:
    stack = decided_of(full_raw_config())
    orchestrator, relay_1, relay_2 = stack.hosts
    token = stack.secrets.orchestrator.infisical_token.get_secret_value()
    contents = orchestrator.pipeline.stdin_secrets
    assert contents["host/tailscale-host-key"] is DeployTimeSecret.TAILSCALE_AUTH_KEY
    assert isinstance(contents["host/orchestrator-infisical-token"], SecretStr)
    assert contents["host/orchestrator-infisical-token"].get_secret_value() == (
        f"INFISICAL_TOKEN={token}\n"
    )
    assert relay_1.pipeline.stdin_secrets["deploy-key"] is DeployTimeSecret.DEPLOY_KEY
    enrollment = relay_1.pipeline.stdin_secrets["host/infisical-relay-token"]
    assert isinstance(enrollment, SecretStr)
    assert enrollment.get_secret_value().startswith("INFISICAL_RELAY_ENROLLMENT_TOKEN=")
    assert "host/infisical-relay-token" not in relay_2.pipeline.stdin_secrets


def test_a_host_file_without_a_value_is_refused_where_the_pipeline_is_decided(
    example_config: dict[str, Any],
) -> None:
    raw = enable_infisical_relay(example_config)
    document = secrets_document_for(raw)
    del document["relays"]
    with pytest.raises(ConfigError) as raised:
        decided_of(raw, document)
    assert isinstance(raised.value, RefusedError)
    assert "relays.relay-1.infisical_relay_token: got nothing" in str(raised.value)
    assert "an enrollment token because the relay runs an Infisical Relay" in str(raised.value)


def test_deciding_reads_nothing_but_its_arguments(
    example_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No I/O: the sources are read at the edge, and deciding uses only what it is given."""
    config = parse_config("example", example_config, "Pulumi.example.yaml")
    secrets = parse_secrets(secrets_document_for(example_config), config, "secrets")
    real = read_nixos_sources(config)
    sources = NixosSources(
        template=real.template,
        modules={"only.nix": "{ }\n"},
        hardware={config.orchestrator.hardware_configuration: "# the host's own file\n"},
    )

    def no_io(*_: Any, **__: Any) -> None:
        raise AssertionError("deciding the stack read a file")

    monkeypatch.setattr(Path, "read_text", no_io)
    monkeypatch.setattr(Path, "open", no_io)
    monkeypatch.setattr("builtins.open", no_io)
    stack = decide_stack(config, secrets, sources)
    nixos = sorted(path for path in stack.artifacts if path.startswith("nixos/"))
    assert nixos == [
        "nixos/modules/only.nix",
        "nixos/relaymd-orchestrator/configuration.nix",
        "nixos/relaymd-orchestrator/hardware-configuration.nix",
        "nixos/relaymd-relay/configuration.nix",
    ]
    hardware = stack.artifacts["nixos/relaymd-orchestrator/hardware-configuration.nix"]
    assert hardware == "# the host's own file\n"


def test_the_same_inputs_decide_the_same_stack(example_config: dict[str, Any]) -> None:
    assert decided_of(example_config) == decided_of(example_config)
