"""The stack's two Infisical logins, taken from its validated secrets."""

from __future__ import annotations

import argparse
from typing import Any

from infra.config.secrets import StackSecrets
from infra.infisical.identities import IDENTITIES, deploy_identity, orchestrator_identity

SITE = "https://infisical.invalid"


def _secrets(token: str) -> StackSecrets:
    document: dict[str, Any] = {
        "tailscale": {"api_key": "tskey-api-x"},
        "infisical": {"client_id": "deploy-id", "client_secret": "deploy-secret"},
        "orchestrator": {"infisical_token": token},
    }
    return StackSecrets.model_validate(document)


def test_the_deploy_identity_is_the_sops_machine_identity() -> None:
    identity = deploy_identity(_secrets("orch-id:orch-secret"), SITE)
    assert (identity.site_url, identity.client_id, identity.client_secret) == (
        SITE,
        "deploy-id",
        "deploy-secret",
    )


def test_the_orchestrator_token_splits_at_its_first_colon_as_relaymd_splits_it() -> None:
    identity = orchestrator_identity(_secrets("orch-id:secret:with:colons"), SITE)
    assert (identity.client_id, identity.client_secret) == ("orch-id", "secret:with:colons")


def test_secrets_check_offers_exactly_these_identities() -> None:
    from infra.cli.secrets_check import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    (action,) = [a for a in parser._actions if a.dest == "identity"]
    assert sorted(action.choices or ()) == sorted(IDENTITIES) == ["deploy", "orchestrator"]
    secret = _secrets("orch-id:orch-secret")
    assert "orch-secret" not in repr(IDENTITIES["orchestrator"](secret, SITE))
