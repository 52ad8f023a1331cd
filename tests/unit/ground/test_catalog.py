"""The catalog and the coordinates follow what stock RelayMD reads (pure checks)."""

from __future__ import annotations

import pytest

from infra.config.loading import parse_config
from infra.config.secrets import parse_secrets
from infra.ground.catalog import (
    Source,
    catalog_document,
    infisical_writes,
    secret_catalog,
    sops_secret_names,
)
from infra.ground.errors import ConfigError
from infra.ground.relaymd import (
    RELAYMD_COORDINATES,
    RELAYMD_PROJECT_ID,
    STORAGE_SECRETS,
    StorageProvider,
)
from tests.support.stacks import example_raw_config, example_secrets_document


def test_defaults_are_relaymds_fixed_coordinates() -> None:
    raw = example_raw_config()
    del raw["infisical"]
    settings = parse_config("s", raw, "here").infisical
    assert {name: getattr(settings, name) for name in RELAYMD_COORDINATES} == RELAYMD_COORDINATES


def test_a_custom_build_may_use_other_coordinates() -> None:
    raw = example_raw_config()
    raw["infisical"] = {"project_id": "another-project", "custom_relaymd_build": True}
    assert parse_config("s", raw, "here").infisical.project_id == "another-project"


def test_every_refused_coordinate_is_named_at_once() -> None:
    raw = example_raw_config()
    raw["infisical"] = {"project_id": "another-project", "environment": "dev"}
    with pytest.raises(ConfigError) as refused:
        parse_config("s", raw, "here")
    assert [issue.path for issue in refused.value.issues] == [
        "infisical.project_id",
        "infisical.environment",
    ]


@pytest.mark.parametrize("storage", list(StorageProvider))
def test_only_the_chosen_storage_is_required(storage: StorageProvider) -> None:
    required = {entry.name for entry in secret_catalog(storage) if entry.required}
    other = next(s for s in StorageProvider if s is not storage)
    assert set(STORAGE_SECRETS[storage]) <= required
    assert not set(STORAGE_SECRETS[other]) & required


def test_registry_logins_left_the_catalog_and_computed_names_are_not_sops_keys() -> None:
    names = {entry.name for entry in secret_catalog(StorageProvider.PURDUE)}
    assert not {n for n in names if n.startswith("APPTAINER_DOCKER_")}
    computed = {
        e.name for e in secret_catalog(StorageProvider.PURDUE) if e.source is not Source.SOPS
    }
    assert computed == {"TAILSCALE_AUTH_KEY", "RELAYMD_ORCHESTRATOR_URL"}
    assert not computed & sops_secret_names()


def test_download_token_description_tells_worker_and_cli_apart() -> None:
    entry = next(
        e for e in secret_catalog(StorageProvider.PURDUE) if e.name == "DOWNLOAD_BEARER_TOKEN"
    )
    assert "workers fall back to RELAYMD_API_TOKEN" in entry.description
    assert "CLI sends an empty token" in entry.description


def test_the_document_names_the_project() -> None:
    document = catalog_document(RELAYMD_PROJECT_ID, "prod", "/RelayMD", StorageProvider.PURDUE)
    assert document["project_id"] == RELAYMD_PROJECT_ID
    assert document["storage_provider"] == "purdue"


def test_purdue_by_default_requires_purdue_secrets_naming_the_sops_keys() -> None:
    raw = example_raw_config()
    del raw["orchestrator"]["storage_provider"]
    config = parse_config("s", raw, "here")
    with pytest.raises(ConfigError) as refused:
        parse_secrets(example_secrets_document(), config, "secrets/s.sops.yaml")
    assert [issue.path for issue in refused.value.issues] == [
        f"relaymd.{name}" for name in sorted(STORAGE_SECRETS[StorageProvider.PURDUE])
    ]
    assert "add relaymd.PURDUE_S3_ENDPOINT to the SOPS file" in str(refused.value)


def test_writes_are_the_sops_values_and_the_computed_ones() -> None:
    writes = infisical_writes(["AXIOM_TOKEN", "RELAYMD_API_TOKEN"])
    assert writes == {
        "AXIOM_TOKEN": Source.SOPS,
        "RELAYMD_API_TOKEN": Source.SOPS,
        "RELAYMD_ORCHESTRATOR_URL": Source.ORCHESTRATOR_URL,
        "TAILSCALE_AUTH_KEY": Source.WORKER_KEY,
    }
