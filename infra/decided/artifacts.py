"""Rendered artifacts reviewers diff: the policy, the NixOS tree and the secret catalog."""

from __future__ import annotations

import json
from collections.abc import Mapping


def json_text(document: object) -> str:
    """How every reviewable JSON file is written: sorted keys, indented, UTF-8, final newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def artifact_files(
    secret_catalog: Mapping[str, object], policy_text: str, nixos_files: Mapping[str, str]
) -> dict[str, str]:
    """Relative path under ``build/<stack>/`` → file content. Never holds a secret value."""
    return {
        "infisical/secrets.json": json_text(secret_catalog),
        "tailscale/policy.hujson": policy_text,
        **nixos_files,
    }
