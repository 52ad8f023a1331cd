"""Helpers for tests that inspect a mock-engine deployment of relays and NixOS hosts."""

from __future__ import annotations

import copy
import gzip
import io
import tarfile
from base64 import b64decode
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockResourceArgs

from infra.plan.engine import Deployment, run_program
from infra.plan.mocks import RecordedResource, ResourceOutputs
from tests.support.stacks import enable_infisical_relay

COMMAND = "command:local:Command"
VM = "proxmoxve:index/vmLegacy:VmLegacy"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
TAILNET_KEY = "tailscale:index/tailnetKey:TailnetKey"
DEPLOY_PRIVATE_CANARY = "CANARY-deploy-private-key-5d1e"
DEPLOY_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPUBLICHALFONLY deploy"
SSH_HOST_PRIVATE_CANARY = "CANARY-ssh-host-private-key-6e2f"
SSH_HOST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHOSTKEYPUBLICHALF"


def host_key_canary(resource_name: str) -> str:
    return f"CANARY-host-key-{resource_name}-91b2"


def provider_canaries() -> dict[str, ResourceOutputs]:
    """Play the providers: deploy keys, SSH host keys and Tailscale auth keys are canaries."""

    def private_key(args: MockResourceArgs) -> Mapping[str, Any]:
        if args.name.endswith("-host-key"):
            return {
                "privateKeyOpenssh": SSH_HOST_PRIVATE_CANARY,
                "privateKeyPem": SSH_HOST_PRIVATE_CANARY + "-pem",
                "publicKeyOpenssh": SSH_HOST_PUBLIC_KEY + "\n",
            }
        return {
            "privateKeyOpenssh": DEPLOY_PRIVATE_CANARY,
            "privateKeyPem": DEPLOY_PRIVATE_CANARY + "-pem",
            "publicKeyOpenssh": DEPLOY_PUBLIC_KEY + "\n",
        }

    def tailnet_key(args: MockResourceArgs) -> Mapping[str, Any]:
        return {"key": host_key_canary(args.name)}

    return {PRIVATE_KEY: private_key, TAILNET_KEY: tailnet_key}


def deploy(raw_config: Mapping[str, Any], *, preview: bool = False) -> Deployment:
    return run_program("example", raw_config, preview=preview, resource_outputs=provider_canaries())


def commands(deployment: Deployment, host: str) -> dict[str, RecordedResource]:
    """The host's commands keyed by step: install, secrets (its NixosHost), update (its
    NixosSwitch).

    Matched by parent, not by name prefix: relaymd-relay-2's commands also start with
    "relaymd-relay-".
    """
    parents = {host, f"{host}-switch"}
    return {
        resource.name.removeprefix(f"{host}-"): resource
        for resource in deployment.by_type(COMMAND)
        if resource.parent_urn is not None and resource.parent_urn.rsplit("::", 1)[-1] in parents
    }


def plain_strings(value: Any) -> Iterator[str]:
    """Every string in ``value`` that is NOT inside a Pulumi secret."""
    if rpc.is_rpc_secret(value):
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from plain_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from plain_strings(item)


def unwrap(value: Any) -> Any:
    """``value`` with every secret marker replaced by the value it protects."""
    if rpc.is_rpc_secret(value):
        return unwrap(value["value"])
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [unwrap(item) for item in value]
    return value


def archive_files(stdin: str) -> dict[str, str]:
    """The files of a command's stdin archive (base64 .tar.gz), by their path in it."""
    data = gzip.decompress(b64decode(stdin))
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        files = {}
        for member in archive.getmembers():
            assert member.isfile(), f"{member.name}: only files belong in a stdin archive"
            extracted = archive.extractfile(member)
            assert extracted is not None
            files[member.name] = extracted.read().decode()
        return files


def stdin_secrets(command: RecordedResource) -> dict[str, str]:
    """The ``secrets/<NAME>`` files a command receives on stdin, by NAME (unwrapped)."""
    stdin = command.inputs.get("stdin")
    if stdin is None:
        return {}
    prefix = "secrets/"
    return {
        path.removeprefix(prefix): text
        for path, text in archive_files(unwrap(stdin)).items()
        if path.startswith(prefix)
    }


def with_second_relay(raw: dict[str, Any], *, infisical_relay: bool = True) -> dict[str, Any]:
    """The example plus relay-2 on another node, no VLAN, running an Infisical Relay."""
    raw = copy.deepcopy(raw)
    second = copy.deepcopy(raw["relays"][0])
    second.update(
        name="relay-2",
        proxmox_node="proxmox-b",
        vm_id=4242,
        address="10.100.10.3/24",
        tailnet_hostname="relaymd-relay-2",
        cores=4,
        memory_mb=4096,
        disk_gb=32,
    )
    second.pop("vlan")
    raw["relays"] = [raw["relays"][0], second]
    return enable_infisical_relay(raw, 1) if infisical_relay else raw
