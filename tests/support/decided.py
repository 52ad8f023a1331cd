"""Deciding test stacks without a SOPS file per variant: the example's secrets, decrypted once."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from infra.config.loading import load_stack, parse_config
from infra.config.secrets import parse_secrets
from infra.config.sources import read_nixos_sources
from infra.ground.relaymd import DEFAULT_STORAGE_PROVIDER, STORAGE_SECRETS, StorageProvider
from infra.stack.decided import DecidedStack, decide_stack
from tests.support.stacks import example_secrets_document

RELAY_TOKEN = "example-relay-enrollment-token"


@cache
def _example_secrets() -> dict[str, Any]:
    return example_secrets_document()


def secrets_document_for(raw: dict[str, Any]) -> dict[str, Any]:
    """The example's secrets, plus an enrollment token for each relay running an Infisical
    Relay (which the example's relay does not) and the storage secrets of the stack's storage
    provider (the example's are Cloudflare/Backblaze's)."""
    document = copy.deepcopy(_example_secrets())
    storage = StorageProvider(raw["orchestrator"].get("storage_provider", DEFAULT_STORAGE_PROVIDER))
    for name in STORAGE_SECRETS[storage]:
        document["relaymd"].setdefault(name, f"example-{name.lower().replace('_', '-')}")
    for relay in raw.get("relays", []):
        if relay.get("infisical_relay"):
            token = {"infisical_relay_token": f"{RELAY_TOKEN}-{relay['name']}"}
            document.setdefault("relays", {}).setdefault(relay["name"], token)
    return document


def decided_of(raw: dict[str, Any], document: dict[str, Any] | None = None) -> DecidedStack:
    """``raw`` validated and decided as the plan would, with the example's secrets by default."""
    config = parse_config("example", raw, "Pulumi.example.yaml")
    secrets = parse_secrets(
        document if document is not None else secrets_document_for(raw), config, "secrets"
    )
    return decide_stack(config, secrets, read_nixos_sources(config))


def decided_from_sops(raw: dict[str, Any]) -> DecidedStack:
    """``raw`` loaded with its own SOPS file (real sops), then decided."""
    loaded = load_stack("example", raw)
    return decide_stack(loaded.config, loaded.secrets, loaded.sources)
