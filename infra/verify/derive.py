"""An inventory document derived from a stack's rendered artifacts (pure, no I/O).

Sources, all produced by ``scripts/plan`` or Pulumi:
- ``plan.json``: the hosts (``NixosHost`` resources), their SSH targets and pinned host keys
  (the pipeline's ``RELAYMD_SSH_TARGET``/``RELAYMD_SSH_PORT``/``RELAYMD_SSH_HOST_KEY``) and
  whether each host's Tailscale key is ephemeral;
- each host's ``configuration.nix`` settings (its ``relaymd.*`` values);
- ``tailscale/policy.hujson``: the whole policy, which the checks read for what may reach
  what and what its ``tests`` deny;
- the stack outputs (``pulumi stack output --json``, else plan.json's): the orchestrator URL
  and each relay's SSH host key. Only read when the inventory file does not give them:
  :func:`missing_outputs` says whether it does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from infra.ground.contract import (
    ENV_SSH_HOST_KEY,
    ENV_SSH_PORT,
    ENV_SSH_TARGET,
    KNOWN_AFTER_APPLY,
    NIXOS_HOST_TYPE,
    ORCHESTRATOR_URL_OUTPUT,
    SECRET_MASK,
    SSH_HOST_KEYS_OUTPUT,
    TAILNET_KEY_TYPE,
)
from infra.verify.inventory import InventoryError, reached_over_ssh

NOT_VALUES = (KNOWN_AFTER_APPLY, SECRET_MASK, "")
"""What plan.json writes where it shows no value: no key to pin."""


def _resources(plan: Mapping[str, Any], kind: str) -> Iterator[Mapping[str, Any]]:
    for resource in plan.get("resources", []):
        if isinstance(resource, Mapping) and resource.get("type") == kind:
            yield resource


def _connection(plan: Mapping[str, Any], host: str) -> tuple[str, str | None]:
    """The host's testinfra spec and its pinned host key (None: not known in this plan)."""
    for resource in plan.get("resources", []):
        environment = resource.get("inputs", {}).get("environment")
        if resource.get("parent") == host and isinstance(environment, Mapping):
            target = environment.get(ENV_SSH_TARGET)
            port = environment.get(ENV_SSH_PORT, "22")
            key = environment.get(ENV_SSH_HOST_KEY)
            if isinstance(target, str):
                pinned = key if isinstance(key, str) and key not in NOT_VALUES else None
                return f"ssh://{target}:{port}", pinned
    raise InventoryError(f"plan.json: host {host!r} has no command with {ENV_SSH_TARGET}")


def _key_ephemeral(plan: Mapping[str, Any], tag: str) -> bool:
    for key in _resources(plan, TAILNET_KEY_TYPE):
        inputs = key.get("inputs", {})
        if inputs.get("tags") == [tag] and not inputs.get("reusable", False):
            return bool(inputs.get("ephemeral", False))
    raise InventoryError(f"plan.json: no single-use host key carries {tag!r}")


def _url(outputs: Mapping[str, Any]) -> dict[str, Any]:
    url = outputs.get(ORCHESTRATOR_URL_OUTPUT)
    if not isinstance(url, str):
        raise InventoryError(
            f"stack outputs: {ORCHESTRATOR_URL_OUTPUT} is missing; run `pulumi up` or scripts/plan"
        )
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise InventoryError(f"stack outputs: {ORCHESTRATOR_URL_OUTPUT}={url!r} has no host:port")
    return {"dns_name": parts.hostname, "port": parts.port}


def _relay_keys(outputs: Mapping[str, Any]) -> Mapping[str, Any]:
    keys = outputs.get(SSH_HOST_KEYS_OUTPUT, {})
    return keys if isinstance(keys, Mapping) else {}


def inventory_document(
    stack: str,
    plan: Mapping[str, Any],
    policy: Mapping[str, Any],
    host_settings: Mapping[str, Mapping[str, Any]],
    outputs: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The inventory document for ``stack``; test nodes (workers) come from elsewhere.

    Without ``outputs`` the orchestrator's name and port and the relays' host keys are left
    out, for the inventory file to give (see :func:`missing_outputs`)."""
    orchestrator: dict[str, Any] | None = None
    relays: list[dict[str, Any]] = []
    relay_keys = _relay_keys(outputs or {})
    for host in _resources(plan, NIXOS_HOST_TYPE):
        name = str(host["name"])
        settings = host_settings.get(name)
        if settings is None:
            raise InventoryError(f"nixos/{name}/configuration.nix: missing from the render")
        relaymd = settings.get("relaymd", {})
        tailnet = relaymd.get("tailnet", {})
        spec, key = _connection(plan, name)
        node: dict[str, Any] = {
            "host": spec,
            "hostname": tailnet.get("hostname", name),
            "tag": tailnet.get("tags", [""])[0],
        }
        if "orchestrator" in relaymd:
            orchestrator = {
                **node,
                **(_url(outputs) if outputs is not None else {}),
                "ssh_host_key": key,
                "lan_address": urlsplit(spec).hostname or "",
                "key_ephemeral": _key_ephemeral(plan, node["tag"]),
            }
        elif "relay" in relaymd:
            exported = relay_keys.get(node["hostname"])
            if key is None and isinstance(exported, str) and exported not in NOT_VALUES:
                key = exported
            relays.append(
                {
                    **node,
                    "ssh_host_key": key,
                    "internal_domain": relaymd["relay"].get("internalDomain", "internal"),
                    "infisical_relay": bool(relaymd.get("infisicalRelay", {}).get("enable")),
                }
            )
    if orchestrator is None:
        raise InventoryError("plan.json: no host configures relaymd.orchestrator")
    return {"stack": stack, "orchestrator": orchestrator, "relays": relays, "policy": policy}


def missing_outputs(document: Mapping[str, Any]) -> list[str]:
    """What only the stack outputs could still give: empty when the inventory has it all."""
    missing = []
    orchestrator = document.get("orchestrator") or {}
    if not orchestrator.get("dns_name") or not orchestrator.get("port"):
        missing.append(ORCHESTRATOR_URL_OUTPUT)
    for relay in document.get("relays") or []:
        if (
            isinstance(relay, Mapping)
            and reached_over_ssh(str(relay.get("host", "")))
            and not relay.get("ssh_host_key")
        ):
            missing.append(f"{SSH_HOST_KEYS_OUTPUT}.{relay.get('hostname')}")
    return missing
