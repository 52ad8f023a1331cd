"""A contract fake of Tailscale's API v2 keys endpoints and OAuth token endpoint, on loopback.

Not Tailscale: only what the credential watch calls, with the shapes and failures upstream
documents. Sources, each at the version named:

- client  = tailscale/tailscale-client-go-v2 v2.9.0 (4f50555a), the client the pinned provider
            (terraform-provider-tailscale v0.29.2) links: ``keys.go`` (the ``Key`` JSON fields;
            ``GET /api/v2/tailnet/{t}/keys[?all=true]`` whose entries carry only ``id``; ``GET
            .../keys/{id}``), ``client.go`` (an API key as the basic-auth user name with an
            empty password; errors as ``{"message": ...}``; ``-`` as the default tailnet),
            ``oauth.go`` (client credentials at ``/api/v2/oauth/token``).
- apidoc  = tailscale/tailscale ``publicapi/tailnet.md`` (7334217f): "List tailnet keys"
            returns the IDs of *active* keys; with a user's token the keys that user owns, with
            an OAuth token the keys the tailnet owns; "Get key": a revoked or expired key reads
            back with ``"invalid": true`` (and ``revoked``); times like ``2022-05-05T18:55:44Z``.
- oauth   = https://tailscale.com/kb/1215 (access tokens expire after one hour) and
            https://tailscale.com/docs/reference/trust-credentials (validated 2026-01-30):
            every scope may ``GET .../keys/:keyID`` for the key in use; an OAuth client's
            secret does not expire, it works until revoked.
- rfc6749 = RFC 6749 4.4 and 5.2: the token endpoint's grant, and ``invalid_client`` as 401
            when the client authenticated with the Authorization header (400 otherwise).

Inferred, not documented (the fake is the bug if upstream differs): a used single-use auth key
is no longer active, so it leaves the list and reads back invalid; an API key's ID is the part
of ``tskey-api-<id>-<secret>`` before the secret, as for auth keys; the 401/403/404 message
texts. Rate limits are undocumented (tailscale/tailscale#14328): 429 is only injected.
"""

from __future__ import annotations

import base64
import itertools
import secrets as random_secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support.http_fakes import Failures, Incoming, Reply, json_reply

TAILNET_OWNED = "tailnet"
"""The owner of keys minted with an OAuth client (apidoc)."""
_READ_SCOPES = {"auth_keys", "auth_keys:read", "all", "all:read"}


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FakeKey:
    id: str
    key_type: str
    """auth, api, client or federated (client's keys.go and its tests)."""
    owner: str
    created: datetime
    expires: datetime | None
    description: str = ""
    reusable: bool = False
    ephemeral: bool = False
    preauthorized: bool = False
    tags: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    secret: str = field(default="", repr=False)
    revoked: datetime | None = None
    used: bool = False

    def active(self, now: datetime) -> bool:
        return (
            self.revoked is None and not self.used and (self.expires is None or self.expires > now)
        )

    def document(self, now: datetime) -> dict[str, Any]:
        """client: ``Key``; apidoc "Get key": ``invalid`` appears for a key no longer valid."""
        document: dict[str, Any] = {
            "id": self.id,
            "keyType": self.key_type,
            "description": self.description,
            "created": _rfc3339(self.created),
            "userId": "" if self.owner == TAILNET_OWNED else f"u{abs(hash(self.owner)) % 10**6}",
        }
        if self.expires is not None:
            document["expires"] = _rfc3339(self.expires)
        if self.key_type == "auth":
            document["capabilities"] = {
                "devices": {
                    "create": {
                        "reusable": self.reusable,
                        "ephemeral": self.ephemeral,
                        "preauthorized": self.preauthorized,
                        "tags": list(self.tags),
                    }
                }
            }
        if self.key_type in ("client", "federated"):
            document["scopes"] = list(self.scopes)
            document["tags"] = list(self.tags)
        if self.revoked is not None:
            document["revoked"] = _rfc3339(self.revoked)
        if not self.active(now):
            document["invalid"] = True
        return document


@dataclass
class _Token:
    client_id: str
    expires: datetime


class TailscaleKeysFake:
    """State and behaviour; ``tests.support.http_fakes.serve(fake.handle)`` serves it."""

    def __init__(self, tailnet: str = "example.org", now: Any = None) -> None:
        self.tailnet = tailnet
        self.keys: dict[str, FakeKey] = {}
        self.tokens: dict[str, _Token] = {}
        self.requests: list[tuple[str, str]] = []
        self.failures = Failures()
        self._now = now or (lambda: datetime.now(UTC))
        self._ids = itertools.count(1)
        self._lock = threading.RLock()

    def now(self) -> datetime:
        return self._now()  # type: ignore[no-any-return]

    # --- set-up ------------------------------------------------------------------------
    def _new_id(self) -> str:
        return f"k{next(self._ids):04d}CNTRL"

    def add_api_key(self, secret: str, owner: str, *, days: int = 90, age_days: float = 0) -> str:
        """A user's API access token (1-90 days, kb/1101) with the text ``secret``, of the form
        ``tskey-api-<id>-<secret>``; returns its ID."""
        key_id = secret.removeprefix("tskey-api-").partition("-")[0]
        created = self.now() - timedelta(days=age_days)
        self.keys[key_id] = FakeKey(
            key_id, "api", owner, created, created + timedelta(days=days), secret=secret
        )
        return key_id

    def add_oauth_client(self, client_id: str, secret: str, scopes: list[str]) -> None:
        """An OAuth client: no expiry of its own (oauth)."""
        created = self.now() - timedelta(days=30)
        self.keys[client_id] = FakeKey(
            client_id, "client", TAILNET_OWNED, created, None, scopes=list(scopes), secret=secret
        )

    def add_auth_key(
        self,
        description: str,
        tags: list[str],
        *,
        owner: str = TAILNET_OWNED,
        reusable: bool = False,
        ephemeral: bool = False,
        age_days: float = 0,
        expiry_days: float = 90,
    ) -> str:
        """An auth key as the provider mints it (expiry defaults to 90 days, apidoc)."""
        key_id = self._new_id()
        created = self.now() - timedelta(days=age_days)
        self.keys[key_id] = FakeKey(
            key_id,
            "auth",
            owner,
            created,
            created + timedelta(days=expiry_days),
            description=description,
            reusable=reusable,
            ephemeral=ephemeral,
            preauthorized=True,
            tags=list(tags),
        )
        return key_id

    def use(self, key_id: str) -> None:
        """A device joined with the key: a single-use key is spent."""
        if not self.keys[key_id].reusable:
            self.keys[key_id].used = True

    def revoke(self, key_id: str) -> None:
        self.keys[key_id].revoked = self.now()

    def calls(self, method: str, prefix: str = "") -> list[str]:
        with self._lock:
            return [path for m, path in self.requests if m == method and path.startswith(prefix)]

    # --- requests ----------------------------------------------------------------------
    def handle(self, request: Incoming) -> Reply:
        split = urlsplit(request.target)
        path = unquote(split.path)
        with self._lock:
            self.requests.append((request.method, request.target))
        injected, delay = self.failures.take(request.method, path)
        if injected is not None:
            return injected
        with self._lock:
            reply = self._route(request, path, parse_qs(split.query))
        reply.delay = max(reply.delay, delay)
        return reply

    def _route(self, request: Incoming, path: str, query: dict[str, list[str]]) -> Reply:
        if request.method == "POST" and path == "/api/v2/oauth/token":
            return self._token(request)
        prefix = "/api/v2/tailnet/"
        if request.method != "GET" or not path.startswith(prefix):
            return _message(404, "not found")
        tailnet, _, rest = path.removeprefix(prefix).partition("/")
        caller = self._caller(request.headers.get("authorization", ""))
        if caller is None:
            return _message(401, "API token invalid")
        if tailnet not in ("-", self.tailnet):
            return _message(404, "tailnet not found")
        if rest == "keys":
            return self._list(caller, query.get("all", [""])[-1] == "true")
        if rest.startswith("keys/") and rest.count("/") == 1:
            return self._get(caller, rest.removeprefix("keys/"))
        return _message(404, "not found")

    def _token(self, request: Incoming) -> Reply:
        form = {k: v[-1] for k, v in parse_qs(request.body.decode(errors="replace")).items()}
        in_header = request.headers.get("authorization", "").startswith("Basic ")
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        if in_header:
            client_id, client_secret = _basic(request.headers["authorization"])
        if form.get("grant_type") != "client_credentials":
            return json_reply(400, {"error": "unsupported_grant_type"})
        client = self.keys.get(client_id)
        if (
            client is None
            or client.key_type != "client"
            or not client.active(self.now())
            or client.secret != client_secret
        ):
            # rfc6749 5.2: 401 for a client that authenticated with the header, else 400.
            return json_reply(401 if in_header else 400, {"error": "invalid_client"})
        token = f"fake-ts-token-{random_secrets.token_hex(8)}"
        self.tokens[token] = _Token(client_id, self.now() + timedelta(hours=1))
        return json_reply(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": " ".join(client.scopes),
            },
        )

    def _caller(self, authorization: str) -> FakeKey | None:
        """The key a request authenticates as: an API key (basic user or bearer), or the OAuth
        client behind a bearer token."""
        scheme, _, value = authorization.partition(" ")
        if scheme == "Basic":
            value = _basic(authorization)[0]
        elif scheme != "Bearer":
            return None
        token = self.tokens.get(value)
        if token is not None:
            client = self.keys.get(token.client_id)
            return client if client and token.expires > self.now() else None
        for key in self.keys.values():
            if key.key_type == "api" and key.secret == value and key.active(self.now()):
                return key
        return None

    def _may_read(self, caller: FakeKey) -> bool:
        return caller.key_type == "api" or bool(_READ_SCOPES & set(caller.scopes))

    def _visible(self, caller: FakeKey, key: FakeKey, everyone: bool) -> bool:
        """apidoc: a user's token sees that user's keys, an OAuth token the tailnet's;
        client ``List(all)``: ``all=true`` lists both."""
        if everyone:
            return True
        own = caller.owner if caller.key_type == "api" else TAILNET_OWNED
        return key.owner == own

    def _list(self, caller: FakeKey, everyone: bool) -> Reply:
        if not self._may_read(caller):
            return _message(403, "insufficient scope to list keys")
        now = self.now()
        ids = [
            {"id": key.id}
            for key in self.keys.values()
            if key.active(now)
            and key.key_type in ("auth", "api")
            and self._visible(caller, key, everyone)
        ]
        return json_reply(200, {"keys": ids})

    def _get(self, caller: FakeKey, key_id: str) -> Reply:
        key = self.keys.get(key_id)
        # oauth: any credential may read its own entry.
        if key is not None and key.id == caller.id:
            return json_reply(200, key.document(self.now()))
        if not self._may_read(caller):
            return _message(403, "insufficient scope to read keys")
        if key is None or not self._visible(caller, key, True):
            return _message(404, "key not found")
        return json_reply(200, key.document(self.now()))


def _message(status: int, message: str) -> Reply:
    """client.go: every error body is ``{"message": ...}``."""
    return json_reply(status, {"message": message})


def _basic(authorization: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(authorization.partition(" ")[2]).decode()
    except ValueError:
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password
