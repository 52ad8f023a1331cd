"""The typed contents of a stack's SOPS file. Values stay SecretStr until Pulumi wraps them.

The one place that answers "is every secret there?": :func:`parse_secrets` checks each value's
form and that every value the stack's settings need is present (the providers' credentials,
RelayMD's required names, each root-only file a host receives), before anything is decided.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, SecretStr, ValidationError
from pydantic_core import PydanticCustomError

from infra.config.ambient import FILE_PREFIX
from infra.config.settings import StackConfig
from infra.ground.catalog import required_sops_secret_names, sops_secret_names
from infra.ground.errors import MISSING, ConfigError, ConfigIssue, issues_from_validation
from infra.ground.fields import CONTROL_CHARACTERS
from infra.ground.relaymd import STORAGE_SECRETS

_CONTROL_CHARACTERS = re.compile(f"[{CONTROL_CHARACTERS}]")
MAX_SECRET_CHARACTERS = 16 * 1024
"""Tokens, keys and passwords are far shorter. Each value becomes one NAME=value variable,
which Linux caps at 128 KiB (MAX_ARG_STRLEN); a larger value is a pasted file, not a secret."""


def _non_empty(value: SecretStr) -> SecretStr:
    plain = value.get_secret_value()
    if not plain.strip():
        raise PydanticCustomError("relaymd_value", "a non-empty value")
    if len(plain) > MAX_SECRET_CHARACTERS:
        raise PydanticCustomError(
            "relaymd_value",
            f"a value of at most {MAX_SECRET_CHARACTERS} characters (this one has {len(plain)})",
        )
    # Secrets land in line-based files (an env file, a token file): a newline would add
    # lines of its own. The message names the secret's path only, never the value.
    if _CONTROL_CHARACTERS.search(plain):
        raise PydanticCustomError(
            "relaymd_value",
            "a value without control characters (a newline, tab or escape): remove the "
            "trailing newline your editor or `echo` added",
        )
    return value


_non_empty.__doc__ = (
    f"a non-empty value of at most {MAX_SECRET_CHARACTERS} characters without control "
    "characters (no trailing newline)"
)
NonEmptySecret = Annotated[SecretStr, AfterValidator(_non_empty)]


def _not_a_file_reference(value: SecretStr) -> SecretStr:
    if value.get_secret_value().startswith(FILE_PREFIX):
        raise PydanticCustomError(
            "relaymd_value",
            f"the credential itself: the provider reads a value starting with '{FILE_PREFIX}' "
            "from a file on the deploying machine",
        )
    return value


_not_a_file_reference.__doc__ = f"the credential itself, not a '{FILE_PREFIX}' reference"
TailscaleCredential = Annotated[NonEmptySecret, AfterValidator(_not_a_file_reference)]


def split_infisical_token(token: str) -> tuple[str, str]:
    """``<client_id>:<client_secret>``, split as RelayMD splits INFISICAL_TOKEN: at the
    first ':' (and it refuses to start otherwise: "INFISICAL_TOKEN is malformed")."""
    client_id, _, client_secret = token.partition(":")
    return client_id, client_secret


def _client_id_and_secret(value: SecretStr) -> SecretStr:
    """<client_id>:<client_secret>, both parts non-empty"""
    # Without a ':' the secret half is empty, so this refuses that too.
    client_id, client_secret = split_infisical_token(value.get_secret_value())
    if not (client_id.strip() and client_secret.strip()):
        raise PydanticCustomError(
            "relaymd_value", "<client_id>:<client_secret>, both parts non-empty"
        )
    return value


InfisicalToken = Annotated[NonEmptySecret, AfterValidator(_client_id_and_secret)]


class _SecretModel(BaseModel):
    # Each field's docstring is read by infra/config/reference.py (see settings._Model).
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)


class TailscaleCredentials(_SecretModel):
    """Either an OAuth client (recommended) or an API key, never both. The OAuth client needs
    the scopes ``policy_file``, ``auth_keys``, ``dns`` and ``devices:core`` and may create keys
    with the three RelayMD tags."""

    oauth_client_id: TailscaleCredential | None = None
    """The OAuth client's id; with ``oauth_client_secret``."""
    oauth_client_secret: TailscaleCredential | None = None
    """The OAuth client's secret; with ``oauth_client_id``."""
    api_key: TailscaleCredential | None = None
    """An API key, instead of an OAuth client."""


class ProxmoxCredentials(_SecretModel):
    """The Proxmox VE API token the provider creates the relay VMs with."""

    api_token: NonEmptySecret
    """``<user>@<realm>!<token-id>=<secret>``."""


class InfisicalCredentials(_SecretModel):
    """The machine identity (universal auth) Pulumi writes RelayMD's secrets with, under the
    stack's Infisical coordinates."""

    client_id: NonEmptySecret
    """The deploying identity's client id."""
    client_secret: NonEmptySecret
    """The deploying identity's client secret."""


class OrchestratorSecrets(_SecretModel):
    """What the orchestrator host receives as root-only files."""

    infisical_token: InfisicalToken
    """INFISICAL_TOKEN for the orchestrator container: ``<client_id>:<client_secret>``."""
    apptainer_docker_username: NonEmptySecret | None = None
    """Registry user for private ``docker://`` pulls in job scripts; with the password."""
    apptainer_docker_password: NonEmptySecret | None = None
    """Registry login for private ``docker://`` pulls in job scripts: RelayMD reads these
    from the orchestrator's environment only, so they go in its root-only environment file."""


class RelaySecrets(_SecretModel):
    """What one relay receives as root-only files."""

    infisical_relay_token: NonEmptySecret | None = None
    """One-time enrollment token for the Infisical Relay (valid 1 h); required when the relay
    sets ``infisical_relay: true``."""


class StackSecrets(_SecretModel):
    """The stack's SOPS file, decrypted: every secret value, and nothing else."""

    tailscale: TailscaleCredentials
    proxmox: ProxmoxCredentials | None = None
    """Required when relays are configured."""
    infisical: InfisicalCredentials
    orchestrator: OrchestratorSecrets
    relays: dict[str, RelaySecrets] = {}
    """Each key must be the ``name`` of a configured relay."""
    relaymd: dict[str, NonEmptySecret] = {}
    """Values written to Infisical, keyed by the catalog's names (RelayMD's secret catalog)."""

    def relay(self, name: str) -> RelaySecrets:
        return self.relays.get(name, RelaySecrets())


def parse_secrets(document: object, config: StackConfig, source: str) -> StackSecrets:
    """Validate the decrypted document against what this stack's config needs."""
    try:
        secrets = StackSecrets.model_validate(document)
    except ValidationError as error:
        raise ConfigError(source, issues_from_validation(error, secret=True)) from None
    issues = list(_requirement_issues(secrets, config))
    if issues:
        raise ConfigError(source, issues)
    return secrets


def _requirement_issues(secrets: StackSecrets, config: StackConfig) -> list[ConfigIssue]:
    issues = []
    tailscale = secrets.tailscale
    has_oauth = tailscale.oauth_client_id is not None and tailscale.oauth_client_secret is not None
    has_oauth_field = (
        tailscale.oauth_client_id is not None or tailscale.oauth_client_secret is not None
    )
    if tailscale.api_key is not None and has_oauth_field:
        # The provider refuses the combination only at apply ("credentials are conflicting").
        issues.append(
            ConfigIssue(
                "tailscale.api_key",
                "[secret]",
                "either an OAuth client (oauth_client_id and oauth_client_secret) or an "
                "api_key, not both: remove one",
            )
        )
    elif tailscale.api_key is None and (has_oauth_field and not has_oauth):
        issues.append(
            ConfigIssue(
                "tailscale",
                MISSING,
                "both oauth_client_id and oauth_client_secret (an OAuth client needs both)",
            )
        )
    elif not has_oauth and tailscale.api_key is None:
        issues.append(
            ConfigIssue(
                "tailscale",
                MISSING,
                "oauth_client_id and oauth_client_secret (recommended) or api_key",
            )
        )
    if config.relays and secrets.proxmox is None:
        issues.append(
            ConfigIssue(
                "proxmox.api_token", MISSING, "a Proxmox API token because relays are configured"
            )
        )
    storage = config.orchestrator.storage_provider
    for name in sorted(required_sops_secret_names(storage) - secrets.relaymd.keys()):
        why = (
            f"the storage provider is {storage.value} (orchestrator.storage_provider)"
            if name in STORAGE_SECRETS[storage]
            else "RelayMD components fail to start without it"
        )
        issues.append(
            ConfigIssue(
                f"relaymd.{name}",
                MISSING,
                f"a value: {why}; add relaymd.{name} to the SOPS file",
            )
        )
    for name in sorted(secrets.relaymd.keys() - sops_secret_names()):
        hint = (
            f"orchestrator.{name.lower()} instead: RelayMD reads it from the orchestrator's "
            "environment, not from Infisical"
            if name.startswith("APPTAINER_DOCKER_")
            else "one of the catalog's names (docs/configuration.md); remove it or fix its spelling"
        )
        issues.append(ConfigIssue(f"relaymd.{name}", "[secret]", hint))
    apptainer = (
        secrets.orchestrator.apptainer_docker_username,
        secrets.orchestrator.apptainer_docker_password,
    )
    if (apptainer[0] is None) != (apptainer[1] is None):
        issues.append(
            ConfigIssue(
                "orchestrator.apptainer_docker_username",
                "[secret]",
                "both apptainer_docker_username and apptainer_docker_password, or neither",
            )
        )
    for relay in config.relays:
        if relay.infisical_relay and secrets.relay(relay.name).infisical_relay_token is None:
            issues.append(
                ConfigIssue(
                    f"relays.{relay.name}.infisical_relay_token",
                    MISSING,
                    "an enrollment token because the relay runs an Infisical Relay",
                )
            )
    relay_names = {relay.name for relay in config.relays}
    for name in sorted(secrets.relays.keys() - relay_names):
        issues.append(
            ConfigIssue(f"relays.{name}", "[secret]", "the name of a relay configured in the stack")
        )
    return issues
