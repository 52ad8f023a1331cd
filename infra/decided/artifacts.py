"""Rendered artifacts reviewers diff: a pure function of the stack model."""

from __future__ import annotations

import json

from infra.decided.stack import StackModel
from infra.nixos.tree import nixos_tree


def _json_text(document: object) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_artifacts(model: StackModel) -> dict[str, str]:
    """Relative path under ``build/<stack>/`` → file content. Never holds a secret value."""
    return {
        "infisical/secrets.json": _json_text(model.secret_catalog),
        "tailscale/policy.hujson": model.tailnet.policy_text,
        **nixos_tree(model),
    }
