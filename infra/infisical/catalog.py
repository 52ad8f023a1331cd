"""The catalog of RelayMD's Infisical secrets: names, who reads them, where values come from.

Required/optional follows what each RelayMD component reads at runtime (v0.2.21).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Consumer(StrEnum):
    ORCHESTRATOR = "orchestrator"
    WORKER = "worker"
    CLI = "cli"
    DASHBOARD = "dashboard"


class Source(StrEnum):
    SOPS = "sops"
    """Operator-supplied, read from the stack's SOPS file (``relaymd.<NAME>``)."""
    WORKER_KEY = "tailscale-worker-key"
    """The rotating worker auth key minted by the Tailnet component."""
    ORCHESTRATOR_URL = "orchestrator-url"
    """Derived from the orchestrator's MagicDNS name; not secret, stored for workers."""


@dataclass(frozen=True)
class SecretEntry:
    name: str
    required: bool
    consumers: tuple[Consumer, ...]
    source: Source
    description: str


_O, _W, _C, _D = Consumer.ORCHESTRATOR, Consumer.WORKER, Consumer.CLI, Consumer.DASHBOARD

SECRET_CATALOG: tuple[SecretEntry, ...] = (
    SecretEntry(
        "RELAYMD_API_TOKEN",
        True,
        (_O, _W, _C, _D),
        Source.SOPS,
        "Bearer token between workers, CLI, dashboard and the orchestrator API.",
    ),
    SecretEntry("AXIOM_TOKEN", True, (_O, _W), Source.SOPS, "Log shipping token."),
    SecretEntry(
        "TAILSCALE_AUTH_KEY",
        True,
        (_O, _W),
        Source.WORKER_KEY,
        "Reusable, ephemeral, pre-authorized worker key tagged for workers.",
    ),
    SecretEntry(
        "RELAYMD_ORCHESTRATOR_URL",
        True,
        (_W,),
        Source.ORCHESTRATOR_URL,
        "http://<orchestrator MagicDNS name>:36158",
    ),
    SecretEntry("RELAYMD_DASHBOARD_USERNAME", True, (_D,), Source.SOPS, "Dashboard login."),
    SecretEntry("RELAYMD_DASHBOARD_PASSWORD", True, (_D,), Source.SOPS, "Dashboard login."),
    SecretEntry(
        "RELAYMD_DASHBOARD_SESSION_SECRET",
        False,
        (_D,),
        Source.SOPS,
        "Signs dashboard sessions; generated per process when unset.",
    ),
    SecretEntry(
        "DOWNLOAD_BEARER_TOKEN",
        False,
        (_W, _C),
        Source.SOPS,
        "Artifact download token; defaults to RELAYMD_API_TOKEN.",
    ),
    SecretEntry("B2_APPLICATION_KEY_ID", False, (_W, _C), Source.SOPS, "Backblaze B2 key id."),
    SecretEntry("B2_APPLICATION_KEY", False, (_W, _C), Source.SOPS, "Backblaze B2 key."),
    SecretEntry("B2_ENDPOINT", False, (_W, _C), Source.SOPS, "Backblaze B2 S3 endpoint."),
    SecretEntry("BUCKET_NAME", False, (_W, _C), Source.SOPS, "Backblaze B2 bucket."),
    SecretEntry("PURDUE_S3_ENDPOINT", False, (_W, _C), Source.SOPS, "Purdue S3 endpoint."),
    SecretEntry("PURDUE_S3_BUCKET_NAME", False, (_W, _C), Source.SOPS, "Purdue S3 bucket."),
    SecretEntry("PURDUE_S3_ACCESS_KEY", False, (_W, _C), Source.SOPS, "Purdue S3 access key."),
    SecretEntry("PURDUE_S3_SECRET_KEY", False, (_W, _C), Source.SOPS, "Purdue S3 secret key."),
    SecretEntry("PURDUE_S3_USER", False, (_W, _C), Source.SOPS, "Purdue S3 user."),
    SecretEntry(
        "APPTAINER_DOCKER_USERNAME",
        False,
        (_O,),
        Source.SOPS,
        "Registry user for private docker:// pulls in job scripts.",
    ),
    SecretEntry(
        "APPTAINER_DOCKER_PASSWORD",
        False,
        (_O,),
        Source.SOPS,
        "Registry password for private docker:// pulls in job scripts.",
    ),
)

SOPS_SECRET_NAMES = frozenset(e.name for e in SECRET_CATALOG if e.source is Source.SOPS)
REQUIRED_SOPS_SECRET_NAMES = frozenset(
    e.name for e in SECRET_CATALOG if e.source is Source.SOPS and e.required
)


def catalog_document(environment: str, secret_path: str) -> dict[str, object]:
    """The reviewable ``infisical/secrets.json``: names and provenance, never values."""
    return {
        "environment": environment,
        "secret_path": secret_path,
        "secrets": [
            {
                "name": entry.name,
                "required": entry.required,
                "consumers": [consumer.value for consumer in entry.consumers],
                "source": entry.source.value,
                "description": entry.description,
            }
            for entry in sorted(SECRET_CATALOG, key=lambda entry: entry.name)
        ],
    }
