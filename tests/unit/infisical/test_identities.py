"""The stack's two Infisical logins, taken from its validated secrets."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import pytest

from infra.config.secrets import StackSecrets
from infra.infisical.api import Identity
from infra.infisical.identities import IDENTITIES, deploy_identity, orchestrator_identity

SITE = "https://infisical.invalid"


def _secrets(token: str) -> StackSecrets:
    document: dict[str, Any] = {
        "tailscale": {"api_key": "tskey-api-x"},
        "infisical": {"client_id": "deploy-id", "client_secret": "deploy-secret"},
        "orchestrator": {"infisical_token": token},
    }
    return StackSecrets.model_validate(document)


@pytest.mark.parametrize(
    ("identity_of", "token", "login"),
    [
        pytest.param(
            deploy_identity,
            "orch-id:orch-secret",
            ("deploy-id", "deploy-secret"),
            id="the deploy identity is the sops machine identity",
        ),
        pytest.param(
            orchestrator_identity,
            "orch-id:secret:with:colons",
            ("orch-id", "secret:with:colons"),
            id="the orchestrator token splits at its first colon as relaymd splits it",
        ),
    ],
)
def test_each_identity_logs_in_with_its_own_client(
    identity_of: Callable[[StackSecrets, str], Identity], token: str, login: tuple[str, str]
) -> None:
    identity = identity_of(_secrets(token), SITE)
    assert (identity.site_url, identity.client_id, identity.client_secret) == (SITE, *login)


def test_secrets_check_offers_exactly_these_identities() -> None:
    from infra.cli.secrets_check import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    (action,) = [a for a in parser._actions if a.dest == "identity"]
    assert sorted(action.choices or ()) == sorted(IDENTITIES) == ["deploy", "orchestrator"]
    secret = _secrets("orch-id:orch-secret")
    assert "orch-secret" not in repr(IDENTITIES["orchestrator"](secret, SITE))
