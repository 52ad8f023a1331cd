"""A universal-auth identity's client secrets as Infisical lists them: metadata, never secrets.

Read from Infisical/infisical (backend/src, files at the commits named):

- ``server/routes/v1/identity-universal-auth-router.ts`` (0387418d): ``GET
  /api/v1/auth/universal-auth/identities/:identityId/client-secrets`` answers
  ``{clientSecretData: [...]}`` of ``sanitizedClientSecretSchema``: ``id, createdAt, updatedAt,
  description, clientSecretPrefix, clientSecretNumUses, clientSecretNumUsesLimit,
  clientSecretTTL, identityUAId, isClientSecretRevoked``; ``GET …/identities/:identityId``
  answers ``{identityUniversalAuth: {clientId, identityId, …}}``.
- ``services/identity-ua/identity-ua-service.ts`` (022f858a): the list holds the secrets not
  revoked; a secret's prefix is its first 4 characters; a login finds the secret by that
  prefix, refuses it once ``createdAt + clientSecretTTL`` has passed (TTL > 0) or once
  ``clientSecretNumUses`` reached ``clientSecretNumUsesLimit`` (limit > 0), and every
  successful login adds one use. Expiry is only enforced at a login, so an expired secret
  still lists until someone tries it.
- ``db/schemas/identity-ua-client-secrets.ts`` (0c7621b5): the numbers are coerced numbers,
  TTL in seconds, 0 meaning never / unlimited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from infra.ground.answers import Fields, json_object
from infra.ground.http import AnswerRefusedError

PREFIX_LENGTH = 4
"""identity-ua-service.ts: ``clientSecretPrefix: clientSecret.slice(0, 4)``."""


@dataclass(frozen=True)
class ClientSecretInfo:
    id: str
    description: str
    created_at: datetime
    ttl_seconds: int
    """0: never expires."""
    uses: int
    uses_limit: int
    """0: unlimited."""
    revoked: bool
    prefix: str = field(repr=False)
    """The secret's first characters: used to recognise it, never shown."""

    @property
    def expires_at(self) -> datetime | None:
        if self.ttl_seconds <= 0:
            return None
        return self.created_at + timedelta(seconds=self.ttl_seconds)

    @property
    def uses_left(self) -> int | None:
        if self.uses_limit <= 0:
            return None
        return max(0, self.uses_limit - self.uses)


def parse_client_secrets(value: object, identity_id: str) -> tuple[ClientSecretInfo, ...]:
    where = f"the client secrets of identity {identity_id}"
    listed = json_object(value, where).get("clientSecretData")
    if not isinstance(listed, list):
        raise AnswerRefusedError(f"{where}: 'clientSecretData' is not a list")
    secrets = []
    for entry in listed:
        fields = Fields(json_object(entry, f"{where}: an entry"), f"{where}: an entry")
        secret_id = fields.text("id")
        fields = Fields(fields.document, f"client secret {secret_id}")
        secrets.append(
            ClientSecretInfo(
                id=secret_id,
                description=fields.text("description", default=""),
                created_at=fields.required_time("createdAt"),
                ttl_seconds=fields.whole("clientSecretTTL", 0),
                uses=fields.whole("clientSecretNumUses", 0),
                uses_limit=fields.whole("clientSecretNumUsesLimit", 0),
                revoked=fields.flag("isClientSecretRevoked"),
                prefix=fields.text("clientSecretPrefix"),
            )
        )
    return tuple(secrets)


def universal_auth_client_id(value: object, identity_id: str) -> str:
    """The client ID of the identity's universal auth, checked to be that identity's."""
    where = f"the universal auth of identity {identity_id}"
    fields = Fields(
        json_object(json_object(value, where).get("identityUniversalAuth"), where), where
    )
    if fields.text("identityId").lower() != identity_id.lower():
        raise AnswerRefusedError(f"{where}: the answer is for another identity")
    return fields.text("clientId")


def in_use(secrets: Iterable[ClientSecretInfo], client_secret: str) -> tuple[ClientSecretInfo, ...]:
    """The listed secrets that could be ``client_secret``: those with its prefix, as the login
    itself narrows them (two secrets share a prefix about once in 65,536 pairs)."""
    prefix = client_secret[:PREFIX_LENGTH]
    return tuple(secret for secret in secrets if not secret.revoked and secret.prefix == prefix)
