"""A contract fake of the Infisical REST API, served over HTTP on loopback for tests.

It is not Infisical: it implements only the endpoints this project calls, with the
request shapes, responses and failures of the upstream server. Each behaviour names the
upstream file it was read from (github.com/Infisical/infisical, backend/src/...):

- router   = server/routes/v3/deprecated-secret-router.ts (commit 03e75b2), the v3 raw API
- folders  = services/secret-folder/secret-folder-service.ts (commit 4af4016, after
             Infisical PR #4690 of 2025-10; commit 00e59be before it)
- errors   = server/plugins/error-handler.ts (commit 036d891): ``{reqId, statusCode,
             message, error}`` bodies, BadRequest 400, NotFound 404, Unauthorized 401,
             RateLimit 429, anything else 500 "Something went wrong"
- limits   = server/config/rateLimiter.ts (commit 076e8b0): "Rate limit exceeded. Please
             try again in N seconds", with @fastify/rate-limit's ``retry-after`` header
- login    = services/identity-ua/identity-ua-service.ts: an unknown client id or a wrong
             secret is 401 "Invalid credentials"
- schema   = server/routes/sanitizedSchemas.ts: the fields of ``secretRawSchema``
- bridge   = services/secret-v2-bridge/secret-v2-bridge-service.ts (commit 0174d36): the
             messages of a missing folder or secret; listing a missing folder is not an error
- ua       = services/identity-ua/identity-ua-service.ts (commit 022f858a) and
             server/routes/v1/identity-universal-auth-router.ts (commit 0387418d): the login's
             checks in their order (unknown client id; lockout; the secret found by its 4-character
             prefix among those not revoked; a wrong one counts toward the lockout, 3 failures
             within 30 s lock the identity for 300 s; TTL passed or uses reached: revoked, then
             401; success adds a use), the identity reads (``GET .../identities/:id`` and
             ``.../client-secrets``, non-revoked only, ``sanitizedClientSecretSchema``), their
             404/400/403 errors; db/schemas/identity-ua-client-secrets.ts (commit 0c7621b5) and
             identity-universal-auths.ts (commit 476671e6) for the fields

The client side it answers is infisicalsdk 1.0.17 (infisical_sdk/resources/secrets.py,
folders.py, auth_methods/universal_auth.py), so tests drive it through the real SDK.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tests.support import http_fakes
from tests.support.http_fakes import Incoming, Reply

# String.prototype.trim removes ECMAScript WhiteSpace and LineTerminator code points.
_JS_TRIM = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)


def server_stored_value(value: str) -> str:
    """router: ``secretValue`` is trimmed, but a value ending in a newline keeps one newline."""
    if value.endswith("\n"):
        return value.strip(_JS_TRIM) + "\n"
    return value.strip(_JS_TRIM)


def _secret_path(value: str | None) -> str:
    """router: ``secretPath`` is trimmed, defaults to ``/`` and loses a trailing slash."""
    path = (value or "/").strip(_JS_TRIM) or "/"
    return path.rstrip("/") or "/"


_ANY_IPV4 = {"ipAddress": "0.0.0.0", "type": "ipv4", "prefix": 0}  # noqa: S104 - data, not a bind


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _ApiError(Exception):
    def __init__(
        self, status: int, error: str, message: str, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}


def _not_found(message: str) -> _ApiError:
    return _ApiError(404, "NotFound", message)


def _bad_request(message: str) -> _ApiError:
    return _ApiError(400, "BadRequest", message)


@dataclass
class StoredSecret:
    id: str
    project_id: str
    environment: str
    path: str
    key: str
    value: str
    comment: str = ""
    version: int = 1
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)

    def raw(self, *, with_path: bool) -> dict[str, Any]:
        """schema: ``secretRawSchema`` (+ ``secretPath`` on reads, as the router adds it)."""
        document: dict[str, Any] = {
            "id": self.id,
            "_id": self.id,
            "workspace": self.project_id,
            "environment": self.environment,
            "version": self.version,
            "type": "shared",
            "secretKey": self.key,
            "secretValue": self.value,
            "secretComment": self.comment,
            "secretReminderNote": None,
            "secretReminderRepeatDays": None,
            "skipMultilineEncoding": False,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "secretValueHidden": False,
            "tags": [],
        }
        if with_path:
            document["secretPath"] = self.path
        return document


@dataclass
class StoredFolder:
    id: str
    env_id: str
    path: str
    created_at: str = field(default_factory=_now)

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1] or "root"

    def raw(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "envId": self.env_id,
            "path": self.path,
            "version": 1,
            "parentId": None,
            "isReserved": False,
            "description": None,
            "createdAt": self.created_at,
            "updatedAt": self.created_at,
        }


@dataclass
class _Injected:
    method: str
    path_pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: int | None
    body: bytes | None = None
    """A raw answer instead of an error (a malformed one)."""
    delay: float = 0.0
    """Answer normally, this many seconds late."""


@dataclass
class FakeClientSecret:
    id: str
    secret: str = field(repr=False)
    description: str
    ttl: int
    uses_limit: int
    uses: int
    created_at: datetime
    revoked: bool = False

    @property
    def prefix(self) -> str:
        return self.secret[:4]

    def sanitized(self, identity_ua_id: str) -> dict[str, Any]:
        """ua: ``sanitizedClientSecretSchema``: never the secret or its hash."""
        stamp = self.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return {
            "id": self.id,
            "createdAt": stamp,
            "updatedAt": stamp,
            "description": self.description,
            "clientSecretPrefix": self.prefix,
            "clientSecretNumUses": self.uses,
            "clientSecretNumUsesLimit": self.uses_limit,
            "clientSecretTTL": self.ttl,
            "identityUAId": identity_ua_id,
            "isClientSecretRevoked": self.revoked,
        }


@dataclass
class FakeIdentity:
    id: str
    client_id: str
    ua_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    universal_auth: bool = True
    client_secrets: list[FakeClientSecret] = field(default_factory=list)
    readable: dict[str, bool] = field(default_factory=dict)
    """Identities this one may read -> whether within the privilege boundary."""
    failed_logins: list[float] = field(default_factory=list)
    locked_until: float = 0.0
    # ua: the attach route's defaults.
    lockout_threshold: int = 3
    lockout_seconds: int = 300
    lockout_reset_seconds: int = 30


class InfisicalContractFake:
    """State and behaviour of the fake; ``serve()`` puts it on 127.0.0.1 at a free port."""

    def __init__(self, *, idempotent_folder_create: bool = False) -> None:
        self._lock = threading.RLock()
        self.identities: dict[str, FakeIdentity] = {}
        """By identity ID."""
        self.tokens: dict[str, str] = {}
        """Access token -> the identity it was issued to."""
        self.environments: dict[tuple[str, str], str] = {}
        self.folders: dict[tuple[str, str, str], StoredFolder] = {}
        self.secrets: dict[str, StoredSecret] = {}
        self.approval_paths: set[tuple[str, str, str]] = set()
        self.requests: list[tuple[str, str]] = []
        self._injected: list[_Injected] = []
        self._ids = itertools.count(1)
        # folders: since PR #4690 creating an existing folder is a 400 ("Folder with name
        # '<name>' already exists in path '<path>'"); servers before it answered with the
        # existing folder. Both are reproduced.
        self.idempotent_folder_create = idempotent_folder_create

    # --- test set-up -------------------------------------------------------------------
    def add_identity(
        self, client_id: str, client_secret: str | None = None, *, identity_id: str | None = None
    ) -> str:
        """A universal-auth identity (with one unlimited client secret when given); its ID."""
        with self._lock:
            identity = FakeIdentity(identity_id or str(uuid.uuid4()), client_id)
            self.identities[identity.id] = identity
            if client_secret is not None:
                self.add_client_secret(identity.id, client_secret)
            return identity.id

    def add_client_secret(
        self,
        identity_id: str,
        secret: str,
        *,
        ttl: int = 0,
        uses_limit: int = 0,
        uses: int = 0,
        age_seconds: float = 0,
        description: str = "",
    ) -> str:
        """A client secret as ``createUniversalAuthClientSecret`` stores it; returns its ID."""
        with self._lock:
            stored = FakeClientSecret(
                str(uuid.uuid4()),
                secret,
                description,
                ttl,
                uses_limit,
                uses,
                datetime.now(UTC) - timedelta(seconds=age_seconds),
            )
            self.identities[identity_id].client_secrets.append(stored)
            return stored.id

    def grant_identity_read(self, actor: str, target: str, *, within_boundary: bool = True) -> None:
        """``actor`` holds Identity Read on the org; ``within_boundary``: its role is at least
        as privileged as ``target``'s (the GetToken boundary check of the client-secret list)."""
        self.identities[actor].readable[target] = within_boundary

    def client_secret(self, identity_id: str, secret_id: str) -> FakeClientSecret:
        return next(s for s in self.identities[identity_id].client_secrets if s.id == secret_id)

    def malformed_next(self, method: str, path_regex: str, body: bytes = b"{not json") -> None:
        """The next matching request answers 200 with ``body``, which is not what upstream sends."""
        with self._lock:
            self._injected.append(_Injected(method, re.compile(path_regex), 200, 1, None, body))

    def slow_next(self, method: str, path_regex: str, seconds: float) -> None:
        """The next matching request is answered normally, ``seconds`` late."""
        with self._lock:
            self._injected.append(
                _Injected(method, re.compile(path_regex), 0, 1, None, None, seconds)
            )

    def add_environment(self, project_id: str, slug: str) -> None:
        """An environment exists with its root folder ``/`` (folders: ``findClosestFolder``)."""
        with self._lock:
            env_id = str(uuid.uuid4())
            self.environments[(project_id, slug)] = env_id
            self.folders[(project_id, slug, "/")] = StoredFolder(str(uuid.uuid4()), env_id, "/")

    def require_approval(self, project_id: str, environment: str, path: str) -> None:
        """A secret-change approval policy covers this path: writes become approval requests."""
        self.approval_paths.add((project_id, environment, _secret_path(path)))

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """The next ``times`` matching requests answer ``status`` (429 or 5xx) instead."""
        with self._lock:
            self._injected.append(
                _Injected(method, re.compile(path_regex), status, times, retry_after)
            )

    def put_secret(self, project_id: str, environment: str, path: str, key: str, value: str) -> str:
        """Store a secret directly (as another writer would), folder included; returns its id."""
        with self._lock:
            self._ensure_folder(project_id, environment, _secret_path(path))
            secret = StoredSecret(
                str(uuid.uuid4()), project_id, environment, _secret_path(path), key, value
            )
            self.secrets[secret.id] = secret
            return secret.id

    def secrets_at(self, project_id: str, environment: str, path: str) -> dict[str, str]:
        with self._lock:
            return {
                s.key: s.value
                for s in self.secrets.values()
                if (s.project_id, s.environment, s.path)
                == (project_id, environment, _secret_path(path))
            }

    def calls(self, method: str, prefix: str = "") -> list[str]:
        with self._lock:
            return [path for m, path in self.requests if m == method and path.startswith(prefix)]

    # --- request handling ---------------------------------------------------------------
    def handle(
        self, method: str, target: str, headers: dict[str, str], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any] | bytes, dict[str, str]]:
        split = urlsplit(target)
        path = unquote(split.path)
        query = {key: values[-1] for key, values in parse_qs(split.query).items()}
        delay = self._take_delay(method, path)
        if delay:
            time.sleep(delay)
        with self._lock:
            self.requests.append((method, path))
            try:
                raw = self._maybe_fail(method, path)
                if raw is not None:
                    return 200, raw, {}
                return 200, self._route(method, path, query, headers, body), {}
            except _ApiError as error:
                payload = {
                    "reqId": f"req-{next(self._ids)}",
                    "statusCode": error.status,
                    "message": error.message,
                    "error": error.error,
                }
                return error.status, payload, error.headers

    def _take_delay(self, method: str, path: str) -> float:
        with self._lock:
            for injected in self._injected:
                if (
                    injected.delay
                    and injected.remaining
                    and injected.method == method
                    and injected.path_pattern.search(path)
                ):
                    injected.remaining -= 1
                    return injected.delay
        return 0.0

    def _maybe_fail(self, method: str, path: str) -> bytes | None:
        for injected in self._injected:
            if (
                injected.remaining
                and not injected.delay
                and injected.method == method
                and injected.path_pattern.search(path)
            ):
                injected.remaining -= 1
                if injected.body is not None:
                    return injected.body
                if injected.status == 429:
                    wait = injected.retry_after or 0
                    raise _ApiError(
                        429,
                        "RateLimitExceeded",
                        f"Rate limit exceeded. Please try again in {wait} seconds",
                        {"retry-after": str(wait)},
                    )
                # errors: an unexpected failure is a 500 with a fixed message.
                raise _ApiError(injected.status, "InternalServerError", "Something went wrong")
        return None

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        headers: dict[str, str],
        body: dict[str, Any],
    ) -> dict[str, Any]:
        if method == "POST" and path == "/api/v1/auth/universal-auth/login":
            return self._login(body)
        actor = self._authenticate(headers)
        identities = "/api/v1/auth/universal-auth/identities/"
        if method == "GET" and path.startswith(identities):
            identity_id, _, rest = path.removeprefix(identities).partition("/")
            if rest == "":
                return self._universal_auth(actor, identity_id)
            if rest == "client-secrets":
                return self._client_secrets(actor, identity_id)
        if path == "/api/v2/folders":
            if method == "POST":
                return self._create_folder(body)
            if method == "GET":
                return self._list_folders(query)
        if method == "GET" and path.startswith("/api/v3/secrets/raw/id/"):
            return self._read_by_id(path.removeprefix("/api/v3/secrets/raw/id/"))
        if method == "GET" and path == "/api/v3/secrets/raw":
            return self._list(query)
        if path.startswith("/api/v3/secrets/raw/"):
            name = path.removeprefix("/api/v3/secrets/raw/")
            if method == "GET":
                return self._read_by_name(name, query)
            if method == "POST":
                return self._create(name, body)
            if method == "PATCH":
                return self._update(name, body)
            if method == "DELETE":
                return self._delete(name, body)
        raise _not_found(f"Route {method}:{path} not found")

    def _login(self, body: dict[str, Any]) -> dict[str, Any]:
        """ua ``login``: its checks in upstream's order."""
        client_id = str(body.get("clientId") or "").strip()
        client_secret = str(body.get("clientSecret") or "").strip()
        identity = next((i for i in self.identities.values() if i.client_id == client_id), None)
        if identity is None:
            raise _ApiError(401, "UnauthorizedError", "Invalid credentials")
        now = time.monotonic()
        if identity.locked_until > now:
            raise _ApiError(
                401,
                "UnauthorizedError",
                "This identity auth method is temporarily locked, please try again later",
            )
        found = next(
            (
                stored
                for stored in identity.client_secrets
                if not stored.revoked
                and stored.prefix == client_secret[:4]
                and stored.secret == client_secret
            ),
            None,
        )
        if found is None:
            # ua: the counter lives in a key whose expiry each failure resets to
            # lockoutCounterResetSeconds; reaching the threshold locks for lockoutDurationSeconds.
            last = identity.failed_logins[-1] if identity.failed_logins else None
            if last is not None and now - last >= identity.lockout_reset_seconds:
                identity.failed_logins = []
            identity.failed_logins.append(now)
            if len(identity.failed_logins) >= identity.lockout_threshold:
                identity.locked_until = now + identity.lockout_seconds
                identity.failed_logins = []
            raise _ApiError(401, "UnauthorizedError", "Invalid credentials")
        identity.failed_logins = []
        if found.ttl > 0 and datetime.now(UTC) > found.created_at + timedelta(seconds=found.ttl):
            found.revoked = True
            raise _ApiError(401, "UnauthorizedError", "Access denied due to expired client secret")
        if found.uses_limit > 0 and found.uses >= found.uses_limit:
            found.revoked = True
            raise _ApiError(
                401, "UnauthorizedError", "Access denied due to client secret usage limit reached"
            )
        found.uses += 1
        token = f"fake-access-token-{uuid.uuid4()}"
        self.tokens[token] = identity.id
        return {
            "accessToken": token,
            "expiresIn": 7200,
            "accessTokenMaxTTL": 7200,
            "tokenType": "Bearer",
        }

    def _authenticate(self, headers: dict[str, str]) -> str:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or token not in self.tokens:
            raise _ApiError(401, "UnauthorizedError", "Token missing or invalid")
        return self.tokens[token]

    def _readable_identity(self, actor: str, identity_id: str) -> FakeIdentity:
        """ua: the checks both identity reads share, in order."""
        identity = self.identities.get(identity_id)
        if identity is None:
            raise _not_found(f"Failed to find identity with ID {identity_id}")
        if not identity.universal_auth:
            raise _bad_request("The identity does not have universal auth")
        if identity_id not in self.identities[actor].readable:
            # errors: CASL's ForbiddenError is a 403 "PermissionDenied".
            raise _ApiError(403, "PermissionDenied", "You are not allowed to read on Identity")
        return identity

    def _universal_auth(self, actor: str, identity_id: str) -> dict[str, Any]:
        identity = self._readable_identity(actor, identity_id)
        stamp = _now()
        return {
            "identityUniversalAuth": {
                "id": identity.ua_id,
                "clientId": identity.client_id,
                "accessTokenTTL": 7200,
                "accessTokenMaxTTL": 7200,
                "accessTokenNumUsesLimit": 0,
                # ua: the attach route's default trusted range, as extractIPDetails stores it.
                "clientSecretTrustedIps": [_ANY_IPV4],
                "accessTokenTrustedIps": [_ANY_IPV4],
                "createdAt": stamp,
                "updatedAt": stamp,
                "identityId": identity.id,
                "accessTokenPeriod": 0,
            }
        }

    def _client_secrets(self, actor: str, identity_id: str) -> dict[str, Any]:
        identity = self._readable_identity(actor, identity_id)
        if not self.identities[actor].readable[identity_id]:
            raise _ApiError(
                403,
                "PermissionBoundaryError",
                "Failed to get identity client secret with more privileged role",
            )
        return {
            "clientSecretData": [
                stored.sanitized(identity.ua_id)
                for stored in identity.client_secrets
                if not stored.revoked
            ]
        }

    def _folder(self, project_id: str, environment: str, path: str) -> StoredFolder:
        folder = self.folders.get((project_id, environment, path))
        if folder is None:
            # bridge: the create, update, delete and get-by-name services fail so.
            raise _not_found(
                f"Folder with path '{path}' in environment with slug '{environment}' not found"
            )
        return folder

    def _ensure_folder(self, project_id: str, environment: str, path: str) -> StoredFolder:
        env_id = self.environments.get((project_id, environment))
        if env_id is None:
            raise _not_found(
                f"Environment with slug '{environment}' in project with ID '{project_id}' not found"
            )
        parts = [part for part in path.split("/") if part]
        for depth in range(1, len(parts) + 1):
            # folders: the missing segments above the new folder are created with it.
            prefix = "/" + "/".join(parts[:depth])
            if (project_id, environment, prefix) not in self.folders:
                self.folders[(project_id, environment, prefix)] = StoredFolder(
                    str(uuid.uuid4()), env_id, prefix
                )
        return self.folders[(project_id, environment, path)]

    def _create_folder(self, body: dict[str, Any]) -> dict[str, Any]:
        project_id = body.get("projectId") or body.get("workspaceId") or ""
        environment = str(body.get("environment", ""))
        parent = _secret_path(body.get("path") or body.get("directory"))
        name = str(body.get("name", "")).strip()
        full = f"{parent.rstrip('/')}/{name}"
        if (project_id, environment, full) in self.folders and not self.idempotent_folder_create:
            raise _bad_request(f"Folder with name '{name}' already exists in path '{parent}'")
        return {"folder": self._ensure_folder(project_id, environment, full).raw()}

    def _list_folders(self, query: dict[str, str]) -> dict[str, Any]:
        project_id = query.get("projectId") or query.get("workspaceId") or ""
        environment = query.get("environment", "")
        parent = _secret_path(query.get("path"))
        self._folder(project_id, environment, parent)
        children = [
            folder.raw()
            for (project, env, path), folder in sorted(self.folders.items())
            if (project, env) == (project_id, environment)
            and path != "/"
            and path.rsplit("/", 1)[0] in ({parent} if parent != "/" else {""})
        ]
        return {"folders": children}

    def _find(self, project_id: str, environment: str, path: str, name: str) -> StoredSecret | None:
        for secret in self.secrets.values():
            if (secret.project_id, secret.environment, secret.path, secret.key) == (
                project_id,
                environment,
                path,
                name,
            ):
                return secret
        return None

    @staticmethod
    def _scope(source: dict[str, Any]) -> tuple[str, str, str]:
        project_id = str(source.get("workspaceId") or source.get("projectId") or "")
        if not project_id:
            # router: the project is required (by id or slug).
            raise _bad_request("You must provide workspaceSlug or workspaceId")
        environment = str(source.get("environment") or "").strip(_JS_TRIM)
        if not environment:
            raise _bad_request("Missing environment")
        return project_id, environment, _secret_path(source.get("secretPath"))

    def _read_by_id(self, secret_id: str) -> dict[str, Any]:
        secret = self.secrets.get(secret_id)
        if secret is None:
            raise _not_found(f"Secret with ID '{secret_id}' not found")
        return {"secret": secret.raw(with_path=True)}

    def _read_by_name(self, name: str, query: dict[str, str]) -> dict[str, Any]:
        project_id, environment, path = self._scope(query)
        self._folder(project_id, environment, path)
        secret = self._find(project_id, environment, path, name)
        if secret is None:
            raise _not_found(f"Secret with name '{name}' not found")
        return {"secret": secret.raw(with_path=True)}

    def _list(self, query: dict[str, str]) -> dict[str, Any]:
        """bridge ``getSecrets``: a folder (or environment) that does not exist lists empty."""
        project_id, environment, path = self._scope(query)
        found = [
            secret.raw(with_path=True)
            for secret in self.secrets.values()
            if (secret.project_id, secret.environment, secret.path)
            == (project_id, environment, path)
        ]
        return {"secrets": sorted(found, key=lambda raw: raw["secretKey"]), "imports": []}

    def _approval(self, project_id: str, environment: str, path: str) -> dict[str, Any] | None:
        """router: under a change policy a write answers ``{"approval": ...}``, changing nothing."""
        if (project_id, environment, path) not in self.approval_paths:
            return None
        return {
            "approval": {
                "id": str(uuid.uuid4()),
                "slug": f"request-{next(self._ids)}",
                "policyId": str(uuid.uuid4()),
                "folderId": self._folder(project_id, environment, path).id,
                "status": "open",
                "hasMerged": False,
                "conflicts": [],
                "committerUserId": None,
                "createdAt": _now(),
                "updatedAt": _now(),
            }
        }

    def _create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        project_id, environment, path = self._scope(body)
        self._folder(project_id, environment, path)
        if "secretValue" not in body:
            raise _ApiError(422, "ValidationFailure", "secretValue: Required")
        approval = self._approval(project_id, environment, path)
        if approval is not None:
            return approval
        if self._find(project_id, environment, path, name) is not None:
            # services/secret-v2-bridge/secret-v2-bridge-service.ts: a shared secret by that key.
            raise _bad_request("Secret already exist")
        secret = StoredSecret(
            str(uuid.uuid4()),
            project_id,
            environment,
            path,
            name,
            server_stored_value(str(body["secretValue"])),
            str(body.get("secretComment") or "").strip(_JS_TRIM),
        )
        self.secrets[secret.id] = secret
        return {"secret": secret.raw(with_path=False)}

    def _existing(
        self, name: str, body: dict[str, Any], missing: str
    ) -> tuple[StoredSecret, dict[str, Any] | None]:
        """The secret an update or delete names, and the approval answer if a policy applies."""
        project_id, environment, path = self._scope(body)
        self._folder(project_id, environment, path)
        secret = self._find(project_id, environment, path, name)
        if secret is None:
            raise _not_found(missing)
        return secret, self._approval(project_id, environment, path)

    def _update(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        # bridge: updateSecret's and deleteSecret's own messages for an absent secret.
        secret, approval = self._existing(name, body, f"Secret with name {name} not found")
        if approval is not None:
            return approval
        new_name = body.get("newSecretName")
        if new_name and new_name != name:
            if self._find(secret.project_id, secret.environment, secret.path, str(new_name)):
                raise _bad_request("Secret with the new name already exist")
            secret.key = str(new_name)
        if "secretValue" in body:
            secret.value = server_stored_value(str(body["secretValue"]))
        secret.version += 1
        secret.updated_at = _now()
        return {"secret": secret.raw(with_path=False)}

    def _delete(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        secret, approval = self._existing(name, body, "Secret not found")
        if approval is not None:
            return approval
        del self.secrets[secret.id]
        return {"secret": secret.raw(with_path=False)}


@contextmanager
def serve(fake: InfisicalContractFake) -> Iterator[str]:
    """Run ``fake`` on 127.0.0.1 at a free port; yields its base URL (the SDK's ``host``)."""

    def answer(request: Incoming) -> Reply:
        body = json.loads(request.body) if request.body else {}
        status, payload, extra = fake.handle(request.method, request.target, request.headers, body)
        encoded = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return Reply(
            status, encoded, headers={"Content-Type": "application/json; charset=utf-8", **extra}
        )

    with http_fakes.serve(answer) as url:
        yield url
