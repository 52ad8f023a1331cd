"""The catalog of RelayMD's Infisical secrets: names, who reads them, where values come from.

Required/optional follows what each RelayMD component reads at runtime (v0.2.21), under
the stack's storage provider (see :mod:`infra.ground.relaymd`). ``APPTAINER_DOCKER_*``
are not here: RelayMD reads them only from the orchestrator's process environment
(``slurm.py``), so they travel in its root-only environment file instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from infra.ground.relaymd import (
    Consumer,
    StorageProvider,
    consumers_of,
    known_names,
    required_names,
)


class Source(StrEnum):
    SOPS = "sops"
    """Operator-supplied, read from the stack's SOPS file (``relaymd.<NAME>``)."""
    WORKER_KEY = "tailscale-worker-key"
    """The rotating worker auth key minted by the Tailnet component."""
    ORCHESTRATOR_URL = "orchestrator-url"
    """Derived from the orchestrator's MagicDNS name; not secret, stored for workers."""


WORKER_KEY_SECRET = "TAILSCALE_AUTH_KEY"
ORCHESTRATOR_URL_SECRET = "RELAYMD_ORCHESTRATOR_URL"
COMPUTED_SOURCES: dict[str, Source] = {
    WORKER_KEY_SECRET: Source.WORKER_KEY,
    ORCHESTRATOR_URL_SECRET: Source.ORCHESTRATOR_URL,
}

_DESCRIPTIONS: dict[str, str] = {
    "RELAYMD_API_TOKEN": "Bearer token between workers, CLI, dashboard and the orchestrator API.",
    "AXIOM_TOKEN": "Log shipping token.",
    "TAILSCALE_AUTH_KEY": "Reusable, ephemeral, pre-authorized worker key tagged for workers.",
    "RELAYMD_ORCHESTRATOR_URL": "http://<orchestrator MagicDNS name>:36158",
    "RELAYMD_DASHBOARD_USERNAME": "Dashboard login.",
    "RELAYMD_DASHBOARD_PASSWORD": "Dashboard login.",
    "RELAYMD_DASHBOARD_SESSION_SECRET": (
        "Signs dashboard sessions; random per process when unset."
    ),
    "DOWNLOAD_BEARER_TOKEN": (
        "Artifact download token; workers fall back to RELAYMD_API_TOKEN, "
        "the CLI sends an empty token without it."
    ),
    "B2_APPLICATION_KEY_ID": "Backblaze B2 key id (storage provider cloudflare_backblaze).",
    "B2_APPLICATION_KEY": "Backblaze B2 key (storage provider cloudflare_backblaze).",
    "B2_ENDPOINT": "Backblaze B2 S3 endpoint (storage provider cloudflare_backblaze).",
    "BUCKET_NAME": "Backblaze B2 bucket (storage provider cloudflare_backblaze).",
    "PURDUE_S3_ENDPOINT": "Purdue S3 endpoint (storage provider purdue).",
    "PURDUE_S3_BUCKET_NAME": "Purdue S3 bucket (storage provider purdue).",
    "PURDUE_S3_ACCESS_KEY": "Purdue S3 access key (storage provider purdue).",
    "PURDUE_S3_SECRET_KEY": "Purdue S3 secret key (storage provider purdue).",
    "PURDUE_S3_USER": "Purdue S3 user; optional under either storage provider.",
}


@dataclass(frozen=True)
class SecretEntry:
    name: str
    required: bool
    consumers: tuple[Consumer, ...]
    source: Source
    description: str


def secret_catalog(storage: StorageProvider) -> tuple[SecretEntry, ...]:
    """Every name a RelayMD component reads, sorted; required ones under ``storage``."""
    required = {name for consumer in Consumer for name in required_names(consumer, storage)}
    return tuple(
        SecretEntry(
            name,
            name in required,
            consumers_of(name, storage),
            COMPUTED_SOURCES.get(name, Source.SOPS),
            _DESCRIPTIONS[name],
        )
        for name in sorted(known_names())
    )


def sops_secret_names() -> frozenset[str]:
    """Names the SOPS file may set under ``relaymd``."""
    return frozenset(known_names() - COMPUTED_SOURCES.keys())


def required_sops_secret_names(storage: StorageProvider) -> frozenset[str]:
    return frozenset(
        entry.name
        for entry in secret_catalog(storage)
        if entry.required and entry.source is Source.SOPS
    )


def infisical_writes(sops_names: Iterable[str]) -> dict[str, Source]:
    """Which secrets the program writes and where each value comes from: every name the SOPS
    file sets (the edge has checked them against the catalog) and the computed ones."""
    writes = dict(COMPUTED_SOURCES)
    writes.update({name: Source.SOPS for name in sops_names})
    return dict(sorted(writes.items()))


def catalog_document(
    project_id: str, environment: str, secret_path: str, storage: StorageProvider
) -> dict[str, object]:
    """The reviewable ``infisical/secrets.json``: names and provenance, never values."""
    return {
        "project_id": project_id,
        "environment": environment,
        "secret_path": secret_path,
        "storage_provider": storage.value,
        "secrets": [
            {
                "name": entry.name,
                "required": entry.required,
                "consumers": [consumer.value for consumer in entry.consumers],
                "source": entry.source.value,
                "description": entry.description,
            }
            for entry in secret_catalog(storage)
        ],
    }
