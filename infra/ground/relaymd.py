"""RelayMD's fixed facts (0.2.21), which this project provisions around and cannot change.

Where its components read Infisical, what each one reads there at start, and the port the
orchestrator serves. Required names make a component fail at start ("Missing required
Infisical secrets"); the storage names depend on the ``storage_provider`` the orchestrator
passes to the workers it launches (RelayMD's orchestrator, worker and CLI config modules).
"""

from __future__ import annotations

from enum import StrEnum

ORCHESTRATOR_PORT = 36158
"""The orchestrator's API and ``GET /healthz``: RelayMD serves them there."""

# Where stock RelayMD reads Infisical. RelayMD hard-codes these in every component instead of
# reading settings (src/relaymd/orchestrator/config.py, packages/relaymd-worker/.../bootstrap.py,
# src/relaymd/cli/config.py, src/relaymd/dashboard_proxy_main.py): secrets written anywhere
# else are invisible to it.
RELAYMD_SITE_URL = "https://app.infisical.com"
RELAYMD_PROJECT_ID = "dcf29082-7972-4bca-be58-363f6ad969c0"
RELAYMD_ENVIRONMENT = "prod"
RELAYMD_SECRET_PATH = "/RelayMD"

RELAYMD_COORDINATES: dict[str, str] = {
    "site_url": RELAYMD_SITE_URL,
    "project_id": RELAYMD_PROJECT_ID,
    "environment": RELAYMD_ENVIRONMENT,
    "secret_path": RELAYMD_SECRET_PATH,
}
"""Setting name under ``infisical`` → the value stock RelayMD uses."""


class Consumer(StrEnum):
    ORCHESTRATOR = "orchestrator"
    WORKER = "worker"
    CLI = "cli"
    DASHBOARD = "dashboard"


class StorageProvider(StrEnum):
    PURDUE = "purdue"
    CLOUDFLARE_BACKBLAZE = "cloudflare_backblaze"


DEFAULT_STORAGE_PROVIDER = StorageProvider.PURDUE
"""RelayMD's own default for the ``storage_provider`` config key."""

STORAGE_SECRETS: dict[StorageProvider, tuple[str, ...]] = {
    StorageProvider.PURDUE: (
        "PURDUE_S3_ENDPOINT",
        "PURDUE_S3_BUCKET_NAME",
        "PURDUE_S3_ACCESS_KEY",
        "PURDUE_S3_SECRET_KEY",
    ),
    StorageProvider.CLOUDFLARE_BACKBLAZE: (
        "B2_APPLICATION_KEY_ID",
        "B2_APPLICATION_KEY",
        "B2_ENDPOINT",
        "BUCKET_NAME",
    ),
}

_ALWAYS_REQUIRED: dict[Consumer, tuple[str, ...]] = {
    # TAILSCALE_AUTH_KEY: needed once clusters are configured, which is what workers are for.
    Consumer.ORCHESTRATOR: ("RELAYMD_API_TOKEN", "AXIOM_TOKEN", "TAILSCALE_AUTH_KEY"),
    Consumer.WORKER: (
        "AXIOM_TOKEN",
        "TAILSCALE_AUTH_KEY",
        "RELAYMD_API_TOKEN",
        "RELAYMD_ORCHESTRATOR_URL",
    ),
    Consumer.CLI: ("RELAYMD_API_TOKEN",),
    Consumer.DASHBOARD: (
        "RELAYMD_API_TOKEN",
        "RELAYMD_DASHBOARD_USERNAME",
        "RELAYMD_DASHBOARD_PASSWORD",
    ),
}

_STORAGE_USERS = (Consumer.WORKER, Consumer.CLI)
_ALL_STORAGE = tuple(name for names in STORAGE_SECRETS.values() for name in names)
_OPTIONAL: dict[Consumer, tuple[str, ...]] = {
    Consumer.ORCHESTRATOR: (),
    Consumer.WORKER: ("DOWNLOAD_BEARER_TOKEN", "PURDUE_S3_USER", *_ALL_STORAGE),
    Consumer.CLI: ("DOWNLOAD_BEARER_TOKEN", "PURDUE_S3_USER", *_ALL_STORAGE),
    Consumer.DASHBOARD: ("RELAYMD_DASHBOARD_SESSION_SECRET",),
}


def required_names(consumer: Consumer, storage: StorageProvider) -> tuple[str, ...]:
    storage_names = STORAGE_SECRETS[storage] if consumer in _STORAGE_USERS else ()
    return (*_ALWAYS_REQUIRED[consumer], *storage_names)


def optional_names(consumer: Consumer, storage: StorageProvider) -> tuple[str, ...]:
    required = set(required_names(consumer, storage))
    return tuple(name for name in _OPTIONAL[consumer] if name not in required)


def consumers_of(name: str, storage: StorageProvider) -> tuple[Consumer, ...]:
    """Who reads ``name``, required or not."""
    return tuple(
        consumer
        for consumer in Consumer
        if name in required_names(consumer, storage) or name in optional_names(consumer, storage)
    )


def known_names() -> frozenset[str]:
    """Every name any component reads, under any storage provider."""
    return frozenset(
        name
        for consumer in Consumer
        for storage in StorageProvider
        for name in (*required_names(consumer, storage), *optional_names(consumer, storage))
    )
