"""An inventory document derived from a stack's rendered artifacts (pure, no I/O).

Sources, all produced by ``scripts/plan`` or Pulumi:
- ``plan.json``: the hosts (``NixosHost`` resources), their SSH targets (the pipeline's
  ``RELAYMD_SSH_TARGET``/``RELAYMD_SSH_PORT``) and whether each host key is ephemeral;
- each host's ``configuration.nix`` settings (its ``relaymd.*`` values);
- ``tailscale/policy.hujson``: the ``tests`` block's denies for the worker tag become the
  probes a worker runs;
- the stack outputs (``pulumi stack output --json``, else plan.json's): the orchestrator URL.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from infra.ground.contract import (
    ENV_SSH_PORT,
    ENV_SSH_TARGET,
    NIXOS_HOST_TYPE,
    ORCHESTRATOR_URL_OUTPUT,
    TAILNET_KEY_TYPE,
)
from infra.verify.inventory import InventoryError

DNS_PORT = 53
"""DNS answers on UDP and TCP: a denied port 53 is probed with both."""


def _resources(plan: Mapping[str, Any], kind: str) -> Iterator[Mapping[str, Any]]:
    for resource in plan.get("resources", []):
        if isinstance(resource, Mapping) and resource.get("type") == kind:
            yield resource


def _ssh_spec(plan: Mapping[str, Any], host: str) -> str:
    for resource in plan.get("resources", []):
        environment = resource.get("inputs", {}).get("environment")
        if resource.get("parent") == host and isinstance(environment, Mapping):
            target = environment.get(ENV_SSH_TARGET)
            port = environment.get(ENV_SSH_PORT, "22")
            if isinstance(target, str):
                return f"ssh://{target}:{port}"
    raise InventoryError(f"plan.json: host {host!r} has no command with {ENV_SSH_TARGET}")


def _key_ephemeral(plan: Mapping[str, Any], tag: str) -> bool:
    for key in _resources(plan, TAILNET_KEY_TYPE):
        inputs = key.get("inputs", {})
        if inputs.get("tags") == [tag] and not inputs.get("reusable", False):
            return bool(inputs.get("ephemeral", False))
    raise InventoryError(f"plan.json: no single-use host key carries {tag!r}")


def _url(outputs: Mapping[str, Any]) -> tuple[str, int]:
    url = outputs.get(ORCHESTRATOR_URL_OUTPUT)
    if not isinstance(url, str):
        raise InventoryError(
            f"stack outputs: {ORCHESTRATOR_URL_OUTPUT} is missing; run `pulumi up` or scripts/plan"
        )
    parts = urlsplit(url)
    if parts.hostname is None or parts.port is None:
        raise InventoryError(f"stack outputs: {ORCHESTRATOR_URL_OUTPUT}={url!r} has no host:port")
    return parts.hostname, parts.port


def _worker_tag(plan: Mapping[str, Any]) -> str:
    for key in _resources(plan, TAILNET_KEY_TYPE):
        inputs = key.get("inputs", {})
        if inputs.get("reusable") and inputs.get("tags"):
            return str(inputs["tags"][0])
    raise InventoryError("plan.json: no reusable (worker) key; is this a RelayMD stack's plan?")


def denied_probes(policy: Mapping[str, Any], worker_tag: str) -> list[dict[str, Any]]:
    """The policy's own denies for workers whose destination is a tag (not an IP/CIDR)."""
    probes: list[dict[str, Any]] = []
    for test in policy.get("tests", []):
        if test.get("src") != worker_tag:
            continue
        for destination in test.get("deny", []):
            selector, _, port = str(destination).rpartition(":")
            if not selector.startswith("tag:"):
                continue  # routes behind a relay: no tailnet node to probe
            protocols = ("tcp", "udp") if int(port) == DNS_PORT else ("tcp",)
            probes += [{"tag": selector, "port": int(port), "proto": p} for p in protocols]
    return probes


def inventory_document(
    stack: str,
    plan: Mapping[str, Any],
    policy: Mapping[str, Any],
    host_settings: Mapping[str, Mapping[str, Any]],
    outputs: Mapping[str, Any],
) -> dict[str, Any]:
    """The inventory document for ``stack``; test nodes (workers) come from elsewhere."""
    dns_name, port = _url(outputs)
    worker_tag = _worker_tag(plan)
    orchestrator: dict[str, Any] | None = None
    relays: list[dict[str, Any]] = []
    for host in _resources(plan, NIXOS_HOST_TYPE):
        name = str(host["name"])
        settings = host_settings.get(name)
        if settings is None:
            raise InventoryError(f"nixos/{name}/configuration.nix: missing from the render")
        relaymd = settings.get("relaymd", {})
        tailnet = relaymd.get("tailnet", {})
        node = {
            "host": _ssh_spec(plan, name),
            "hostname": tailnet.get("hostname", name),
            "tag": tailnet.get("tags", [""])[0],
        }
        if "orchestrator" in relaymd:
            ssh_host = urlsplit(node["host"]).hostname or ""
            orchestrator = {
                **node,
                "dns_name": dns_name,
                "port": port,
                "lan_address": ssh_host,
                "key_ephemeral": _key_ephemeral(plan, node["tag"]),
            }
        elif "relay" in relaymd:
            relays.append(
                {
                    **node,
                    "internal_domain": relaymd["relay"].get("internalDomain", "internal"),
                    "infisical_relay": bool(relaymd.get("infisicalRelay", {}).get("enable")),
                }
            )
    if orchestrator is None:
        raise InventoryError("plan.json: no host configures relaymd.orchestrator")
    return {
        "stack": stack,
        "orchestrator": orchestrator,
        "relays": relays,
        "denied_from_workers": denied_probes(policy, worker_tag),
    }
