"""The edge: turn a stack's raw Pulumi config and SOPS file into validated models."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from infra.config.ambient import ambient_overrides
from infra.config.documents import STACK_FILE_BOUNDS, load_yaml, read_text
from infra.config.rules import consistency_issues
from infra.config.secrets import StackSecrets, parse_secrets
from infra.config.settings import CONFIG_KEYS, StackConfig
from infra.config.sops import Decryption, start_decryption
from infra.config.sources import NixosSources, read_nixos_sources
from infra.ground.errors import ConfigError, ConfigIssue, issues_from_validation, refused
from infra.ground.project import PROJECT, PROJECT_ROOT


@dataclass(frozen=True)
class LoadedStack:
    """Everything read from outside, validated: what the decided stack is built from."""

    config: StackConfig
    secrets: StackSecrets
    sources: NixosSources


def parse_config(stack: str, raw: Mapping[str, object], source: str) -> StackConfig:
    """Validate non-secret settings: types and formats first, then cross-field rules."""
    try:
        config = StackConfig.model_validate({"stack": stack, **raw})
    except ValidationError as error:
        raise ConfigError(source, issues_from_validation(error)) from None
    issues = consistency_issues(config)
    if issues:
        raise ConfigError(source, issues)
    return config


def load_stack(
    stack: str,
    raw: Mapping[str, object],
    *,
    project_root: Path = PROJECT_ROOT,
    source: str | None = None,
) -> LoadedStack:
    with begin_loading(stack, raw, project_root=project_root, source=source) as pending:
        return pending.finish()


def begin_loading(
    stack: str,
    raw: Mapping[str, object],
    *,
    project_root: Path = PROJECT_ROOT,
    source: str | None = None,
) -> PendingStack:
    """Validate the settings and start decrypting the SOPS file they name; the caller may work
    on while sops runs, then calls :meth:`PendingStack.finish`."""
    config = parse_config(stack, raw, source or stack_file(project_root, stack).name)
    refuse_ambient_credentials(os.environ)
    secrets_path = project_root / (config.sops.file or f"secrets/{stack}.sops.yaml")
    age_key = project_root / config.sops.age_key_file if config.sops.age_key_file else None
    decryption = start_decryption(secrets_path, age_key_file=age_key, field="sops.file")
    return PendingStack(config, secrets_path, project_root, decryption)


@dataclass(frozen=True)
class PendingStack:
    """Validated settings whose SOPS file sops is decrypting."""

    config: StackConfig
    secrets_path: Path
    project_root: Path
    decryption: Decryption

    def __enter__(self) -> PendingStack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.decryption.__exit__(*exc_info)

    def finish(self) -> LoadedStack:
        secrets_path, project_root = self.secrets_path, self.project_root
        document = self.decryption.document()
        if not isinstance(document, dict):
            raise refused(
                str(secrets_path),
                "sops.file",
                str(secrets_path),
                "a SOPS file whose plaintext is a mapping",
            )
        shown_path = (
            secrets_path.relative_to(project_root)
            if secrets_path.is_relative_to(project_root)
            else secrets_path
        )
        secrets = parse_secrets(document, self.config, source=str(shown_path))
        return LoadedStack(self.config, secrets, read_nixos_sources(self.config))


def refuse_ambient_credentials(environment: Mapping[str, str]) -> None:
    """Refuse provider variables in the environment: one export would steer the deployment."""
    overrides = ambient_overrides(environment)
    if overrides:
        raise ConfigError(
            "environment",
            [
                ConfigIssue(
                    name,
                    "set",
                    f"unset: the Tailscale provider falls back to it, so it could redirect or "
                    f"break the deployment; credentials come only from the SOPS file "
                    f"(run: unset {name})",
                )
                for name in overrides
            ],
        )


def stack_file(project_root: Path, stack: str) -> Path:
    return project_root / f"Pulumi.{stack}.yaml"


def read_stack_file(project_root: Path, stack: str) -> dict[str, object]:
    """Read ``Pulumi.<stack>.yaml`` the way the CLI would hand it to the program."""
    path = stack_file(project_root, stack)
    if not path.is_file():
        raise refused(
            path.name,
            "stack",
            stack,
            f"a stack with a {path.name} beside Pulumi.yaml (see Pulumi.example.yaml)",
        )
    text = read_text(path, field=path.name, bounds=STACK_FILE_BOUNDS)
    document = load_yaml(text, source=path.name, bounds=STACK_FILE_BOUNDS)
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise refused(path.name, "(top level)", _kind(document), "a mapping with a config: section")
    entries = document.get("config")
    if entries is None:
        entries = {}
    if not isinstance(entries, dict):
        raise refused(
            path.name,
            "config",
            _kind(entries),
            f"a mapping of {PROJECT}:<key> entries (see Pulumi.example.yaml)",
        )
    return project_settings(entries, path.name)


def _kind(value: object) -> str:
    return "a list" if isinstance(value, list) else f"a {type(value).__name__} value"


def project_settings(
    entries: Mapping[str, object], source: str, secret_keys: Collection[str] = ()
) -> dict[str, object]:
    """This project's settings from a stack's config map, refusing unknown or secret keys.

    Shared by ``scripts/plan`` (reading the stack file) and the program (reading what
    the Pulumi CLI hands it), so a misspelt key can never silently drop a section.
    """
    raw: dict[str, object] = {}
    issues = []
    for key, value in entries.items():
        namespace, _, name = str(key).partition(":")
        if namespace != PROJECT:
            continue  # provider settings (tailscale:..., proxmoxve:...) are not ours
        if name not in CONFIG_KEYS:
            issues.append(
                ConfigIssue(
                    key, name, "one of " + ", ".join(f"{PROJECT}:{known}" for known in CONFIG_KEYS)
                )
            )
        elif (isinstance(value, dict) and "secure" in value) or key in secret_keys:
            issues.append(
                ConfigIssue(
                    key,
                    "[secret]",
                    "plain settings here; secret values belong in the stack's SOPS file",
                )
            )
        else:
            raw[name] = value
    if issues:
        raise ConfigError(source, issues)
    return raw
