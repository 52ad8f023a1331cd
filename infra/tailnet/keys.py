"""Auth key specs: what each Tailscale key must be, decided from the stack config."""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.config.hosts import Host
from infra.config.settings import StackConfig
from infra.ground.contract import WORKER_KEY_RESOURCE, host_key_resource

SECONDS_PER_DAY = 86_400
DESCRIPTION_LIMIT = 50
"""Tailscale keeps key descriptions short; longer ones are refused."""


@dataclass(frozen=True)
class KeySpec:
    resource_name: str
    description: str
    tags: tuple[str, ...]
    reusable: bool
    ephemeral: bool
    preauthorized: bool
    expiry_seconds: int
    recreate_if_invalid: str
    """``always``: mint a new key when the old one is expired or revoked; ``never``: keep it."""


@dataclass(frozen=True)
class WorkerKeySpec(KeySpec):
    rotation_days: int = 0
    """Mint a fresh key once the current one is this many days old."""


def describe(*words: str) -> str:
    text = re.sub(r"[^A-Za-z0-9 -]", "-", " ".join(words))
    return text[:DESCRIPTION_LIMIT].rstrip()


def worker_key_spec(config: StackConfig) -> WorkerKeySpec:
    """Reusable and ephemeral: every worker joins with it and vanishes when it goes.

    The tag and ephemerality must live in the key: workers run a plain
    ``tailscale up --authkey`` with neither ``--advertise-tags`` nor an ephemeral flag.
    """
    keys = config.keys
    return WorkerKeySpec(
        resource_name=WORKER_KEY_RESOURCE,
        description=describe("relaymd workers", config.stack),
        tags=(config.tailnet.tags.worker,),
        reusable=True,
        ephemeral=True,
        preauthorized=True,
        expiry_seconds=keys.worker_key_expiry_days * SECONDS_PER_DAY,
        recreate_if_invalid="always",
        rotation_days=keys.worker_key_rotation_days,
    )


def host_key_spec(config: StackConfig, host: Host) -> KeySpec:
    """Single-use and persistent: the host joins once, as itself, and stays.

    ``never`` recreate: a used single-use key is invalid by design, and replacing
    it would redeliver a key to a host that already joined.
    """
    return KeySpec(
        resource_name=host_key_resource(host.name),
        description=describe("relaymd", host.kind, host.name),
        tags=(host.tag,),
        reusable=False,
        ephemeral=False,
        preauthorized=True,
        expiry_seconds=config.keys.host_key_expiry_days * SECONDS_PER_DAY,
        recreate_if_invalid="never",
    )
