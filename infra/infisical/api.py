"""Infisical's secrets API through the official SDK (``infisicalsdk``), as this project uses it.

Reads go by id, writes by name, as the Infisical Terraform provider's ``infisical_secret``
does (Infisical/terraform-provider-infisical v0.19.24,
internal/provider/resource/secret_resource.go). Writes go through the SDK's request layer
with a response model of ours because the SDK's ``create/update/delete_secret_by_name``
(infisicalsdk 1.0.17, resources/secrets.py) parse only ``{"secret": ...}`` and fail with a
bare ``KeyError`` when an approval policy answers ``{"approval": ...}`` instead.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

# Backoff for 429 and 5xx answers, bounded in total. The Terraform provider retries 429 five
# times from 1 s, capped at 60 s per wait (internal/client/retry.go, v0.19.24); here 5xx is
# retried too (a write that failed server-side changed nothing) and the whole operation gives
# up after ``total_seconds``.
from infra.ground.http import RetryPolicy as RetryPolicy  # its callers import it from here

if TYPE_CHECKING:
    from infisical_sdk.infisical_requests import APIError

    from infra.config.settings import InfisicalConfig
    from infra.infisical.transport import BoundedAdapter

_SECRETS = "/api/v3/secrets/raw"
_UNIVERSAL_AUTH = "/api/v1/auth/universal-auth"
T = TypeVar("T")


class InfisicalApiError(Exception):
    """A request Infisical refused; the message never holds a secret value."""

    def __init__(self, message: str, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        """The HTTP status of Infisical's answer; None when none was usable."""
        self.reason = reason
        """Infisical's own ``message`` (its error texts name no value)."""


class InfisicalUnreachableError(InfisicalApiError):
    """No usable answer: Infisical could not be reached, or did not answer in time."""


class ApprovalRequiredError(InfisicalApiError):
    """A change policy turned the write into an approval request: nothing was written."""


@dataclass(frozen=True)
class Identity:
    """A universal-auth machine identity and the Infisical instance it belongs to."""

    site_url: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class SecretScope:
    project_id: str
    environment_slug: str
    secret_path: str

    @classmethod
    def of(cls, settings: InfisicalConfig) -> SecretScope:
        """Where a stack's ``infisical`` settings put its secrets."""
        return cls(settings.project_id, settings.environment, settings.secret_path)

    def body(self) -> dict[str, Any]:
        return {
            "workspaceId": self.project_id,
            "environment": self.environment_slug,
            "secretPath": self.secret_path,
            "type": "shared",
        }

    def describe(self) -> str:
        return (
            f"project {self.project_id}, environment {self.environment_slug}, "
            f"path {self.secret_path}"
        )


@dataclass(frozen=True)
class LiveSecret:
    id: str
    name: str
    scope: SecretScope
    value: str = field(repr=False)
    version: int


class _WriteAnswer:
    """Either shape a v3 raw write answers with (router: a union of secret and approval)."""

    def __init__(self, secret: dict[str, Any] | None, approval: dict[str, Any] | None) -> None:
        self.secret = secret
        self.approval = approval

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _WriteAnswer:
        return cls(data.get("secret"), data.get("approval"))


class _JsonObject:
    """An answer kept as the JSON object it is; its reader parses and types it."""

    @classmethod
    def from_dict(cls, data: object) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise InfisicalApiError("Infisical answered with something other than a JSON object")
        return data


class _SecretAnswer:
    def __init__(self, secret: dict[str, Any]) -> None:
        self.secret = secret

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _SecretAnswer:
        return cls(data["secret"])


def _bound_each_request(session: Any, seconds: float) -> BoundedAdapter:
    """Send every request of ``session`` under the project's HTTP rules (transport.py).

    infisicalsdk 1.0.17 (infisical_requests.py) sends without a timeout and follows redirects;
    the adapter gives each request one deadline, a bounded answer and no redirect.
    """
    from infra.infisical.transport import BoundedAdapter

    adapter = BoundedAdapter(seconds)
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)
    return adapter


def _retryable(error: APIError) -> bool:
    status = int(error.status_code)
    return status == 429 or status >= 500


class SecretsApi:
    """One logged-in session; every call is retried per ``retry`` and never cached."""

    def __init__(
        self,
        identity: Identity,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, never mutated
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        # Imported here, not at the top: the SDK pulls in boto3 (~0.1 s), and a plan declares
        # these resources without ever opening a session.
        from infisical_sdk import InfisicalSDKClient
        from infisical_sdk.infisical_requests import APIError, InfisicalError
        from requests import RequestException

        from infra.infisical.transport import AnswerUnusableError

        self._api_error = APIError
        self._sdk_error = InfisicalError
        self._network_error = RequestException
        self._unusable_answer = AnswerUnusableError
        self._site_url = identity.site_url
        # cache_ttl=None turns the SDK's secret cache off: it would answer reads up to
        # 60 s stale (infisicalsdk 1.0.17, util/secrets_cache.py).
        self._client = InfisicalSDKClient(host=identity.site_url, cache_ttl=None)
        self._adapter = _bound_each_request(self._client.api.session, retry.request_seconds)
        self._call(
            "log in with the machine identity",
            lambda: self._client.auth.universal_auth.login(
                identity.client_id, identity.client_secret
            ),
        )

    def close(self) -> None:
        self._client.close()

    @property
    def requests_sent(self) -> int:
        """HTTP requests this session sent (the login and every retry included)."""
        return self._adapter.sent

    def __enter__(self) -> SecretsApi:
        return self

    def __exit__(self, *_exc_info: object) -> None:
        self.close()

    def _call(self, what: str, request: Callable[[], T]) -> T:
        deadline = self._clock() + self._retry.total_seconds
        delay = self._retry.first_delay
        while True:
            try:
                return request()
            except self._api_error as error:
                remaining = deadline - self._clock()
                if not _retryable(error) or remaining <= 0:
                    raise _explained(what, error) from None
                wait = min(delay, self._retry.max_delay, remaining) * random.uniform(0.8, 1.0)  # noqa: S311 - jitter only
                self._sleep(wait)
                delay *= 2
            except self._sdk_error:
                # infisical_requests.py ``_handle_response``: a 2xx answer that is not JSON.
                raise InfisicalApiError(
                    f"Infisical's answer to {what} was refused: it is not JSON"
                ) from None
            except self._unusable_answer as error:
                raise InfisicalApiError(
                    f"Infisical's answer to {what} was refused: {error}"
                ) from None
            except self._network_error as error:
                # The SDK has already retried it (4 times, 1-8 s apart): report, do not loop.
                raise InfisicalUnreachableError(
                    f"Could not reach Infisical at {self._site_url} to {what}: {error}. Check "
                    "the URL and the network path to it."
                ) from None

    # --- machine identities (read-only) ----------------------------------------------
    def universal_auth(self, identity_id: str) -> dict[str, Any]:
        """The identity's universal-auth configuration, as Infisical answers it.

        ``GET /api/v1/auth/universal-auth/identities/:identityId`` (readLimit), answering
        ``{identityUniversalAuth: {...}}`` (identity-universal-auth-router.ts).
        """
        return self._read_json(
            f"read the universal auth of identity {identity_id}",
            f"{_UNIVERSAL_AUTH}/identities/{quote(identity_id, safe='')}",
        )

    def client_secrets(self, identity_id: str) -> dict[str, Any]:
        """The identity's client secrets that are not revoked: metadata only, never a secret.

        ``GET /api/v1/auth/universal-auth/identities/:identityId/client-secrets`` (readLimit),
        answering ``{clientSecretData: [...]}``.
        """
        return self._read_json(
            f"list the client secrets of identity {identity_id}",
            f"{_UNIVERSAL_AUTH}/identities/{quote(identity_id, safe='')}/client-secrets",
        )

    def _read_json(self, what: str, path: str) -> dict[str, Any]:
        return self._call(what, lambda: self._client.api.get(path=path, model=_JsonObject).data)

    # --- folders ---------------------------------------------------------------------
    def ensure_folder(self, scope: SecretScope) -> None:
        """Create the scope's ``secret_path`` (and any missing parent) unless it exists."""
        if scope.secret_path == "/":
            return
        parent, _, name = scope.secret_path.rstrip("/").rpartition("/")
        try:
            self._call(
                f"create folder {scope.secret_path}",
                lambda: self._client.folders.create_folder(
                    name=name,
                    environment_slug=scope.environment_slug,
                    project_id=scope.project_id,
                    path=parent or "/",
                ),
            )
        except InfisicalApiError as error:
            # Servers since Infisical PR #4690 refuse an existing folder with 400; older
            # ones return it.
            if "already exists" not in str(error):
                raise

    # --- secrets ---------------------------------------------------------------------
    def read_by_id(self, secret_id: str) -> LiveSecret | None:
        """The secret with this id, or None when it no longer exists (404)."""
        try:
            answer = self._call(
                f"read secret {secret_id}",
                lambda: (
                    self._client.api.get(
                        path=f"{_SECRETS}/id/{secret_id}", model=_SecretAnswer
                    ).data
                ),
            )
        except _NotFoundError:
            return None
        return _live(answer.secret, None)

    def list_values(self, scope: SecretScope) -> dict[str, str]:
        """Every secret at the scope's path by name (a missing folder lists as empty)."""
        listed = self._call(
            f"list secrets at {scope.describe()}",
            lambda: self._client.secrets.list_secrets(
                environment_slug=scope.environment_slug,
                secret_path=scope.secret_path,
                project_id=scope.project_id,
                expand_secret_references=False,
                include_imports=False,
            ),
        )
        return {secret.secretKey: secret.secretValue for secret in listed.secrets}

    def create(self, scope: SecretScope, name: str, value: str) -> LiveSecret:
        """Create the secret, its folder when missing; a secret already there is adopted."""
        folder_created = False
        while True:
            try:
                return self._write("POST", scope, name, {"secretValue": value})
            except _AlreadyExistsError:
                return self.update(scope, name, name, value)
            except _NotFoundError as error:
                if folder_created or "Folder with path" not in str(error):
                    raise
            self.ensure_folder(scope)
            folder_created = True

    def update(
        self, scope: SecretScope, current_name: str, new_name: str, value: str
    ) -> LiveSecret:
        fields: dict[str, Any] = {"secretValue": value}
        if new_name != current_name:
            fields["newSecretName"] = new_name
        return self._write("PATCH", scope, current_name, fields)

    def delete(self, scope: SecretScope, name: str) -> None:
        """Delete by name; a secret that is already gone is not an error."""
        try:
            self._write("DELETE", scope, name, {})
        except _NotFoundError:
            return

    def _write(
        self, method: str, scope: SecretScope, name: str, fields: dict[str, Any]
    ) -> LiveSecret:
        send = {
            "POST": self._client.api.post,
            "PATCH": self._client.api.patch,
            "DELETE": self._client.api.delete,
        }[method]
        body = {**scope.body(), **fields}
        answer = self._call(
            f"{method} secret {name} at {scope.describe()}",
            lambda: send(path=f"{_SECRETS}/{name}", model=_WriteAnswer, json=body).data,
        )
        if answer.approval is not None:
            raise ApprovalRequiredError(
                f"Infisical turned the change of {name} at {scope.describe()} into approval "
                f"request {answer.approval.get('slug') or answer.approval.get('id')}: nothing "
                "was written. Exempt the deploying identity from the approval policy on that "
                "path (or approve the request and run again)."
            )
        if answer.secret is None:
            raise InfisicalApiError(f"{method} secret {name}: the answer held no secret")
        return _live(answer.secret, scope)


class _NotFoundError(InfisicalApiError):
    pass


class _AlreadyExistsError(InfisicalApiError):
    pass


def _explained(what: str, error: APIError) -> InfisicalApiError:
    raw_reason = error.response.get("message", "") if isinstance(error.response, dict) else ""
    reason = raw_reason if isinstance(raw_reason, str) else ""
    status = int(error.status_code)
    message = f"Infisical refused to {what}: HTTP {status}: {reason}"
    if status == 404:
        return _NotFoundError(message, status, reason)
    if status == 400 and "already exist" in reason:
        return _AlreadyExistsError(message, status, reason)
    if status in (401, 403):
        return InfisicalApiError(
            f"{message}. Check the machine identity (client id/secret in the SOPS file) and "
            "its project role (docs/operating.md, Infisical).",
            status,
            reason,
        )
    if status == 429 or status >= 500:
        return InfisicalUnreachableError(message, status, reason)
    return InfisicalApiError(message, status, reason)


def _live(secret: dict[str, Any], scope: SecretScope | None) -> LiveSecret:
    return LiveSecret(
        id=str(secret["id"]),
        name=str(secret["secretKey"]),
        scope=scope
        or SecretScope(
            str(secret["workspace"]), str(secret["environment"]), str(secret["secretPath"])
        ),
        value=str(secret["secretValue"]),
        version=int(secret.get("version", 1)),
    )
