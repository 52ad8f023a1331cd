"""Tailscale: the API credential itself, the worker key, and each host key still unused.

The stack's keys are recognised the way the program minted them (infra/tailnet/keys.py): by
description, tags and the reusable/ephemeral flags. The list answers IDs of *active* keys
only, so each is read once (``GET .../keys/{id}``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from infra.config.hosts import Host, host_specs
from infra.config.secrets import TailscaleCredentials
from infra.config.settings import StackConfig
from infra.ground.http import Client, HttpError, RejectedError
from infra.tailnet.api import ApiKey, OAuthClient, TailnetKey, TailscaleApi, TailscaleCredential
from infra.tailnet.keys import KeySpec, host_key_spec, worker_key_spec
from infra.watch.model import (
    Finding,
    SourceResult,
    SourceStatus,
    State,
    System,
    expiry_state,
    unjudged,
)
from infra.watch.options import WatchOptions

CREDENTIAL_ID = "tailscale.api-credential"
WORKER_KEY_ID = "tailscale.worker-key"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_TRUST_CREDENTIALS = "tailscale.com/docs/reference/trust-credentials, validated 2026-01-30"


def credential_of(secrets: TailscaleCredentials) -> TailscaleCredential:
    """The SOPS file holds an API key or an OAuth client (parse_secrets checked which)."""
    if secrets.api_key is not None:
        return ApiKey(secrets.api_key.get_secret_value())
    if secrets.oauth_client_id is None or secrets.oauth_client_secret is None:
        raise ValueError("parse_secrets admits a stack with neither an API key nor an OAuth client")
    return OAuthClient(
        secrets.oauth_client_id.get_secret_value(), secrets.oauth_client_secret.get_secret_value()
    )


def watch_tailscale(
    config: StackConfig, secrets: TailscaleCredentials, options: WatchOptions
) -> SourceResult:
    credential = credential_of(secrets)
    client = Client(options.policy)
    api = TailscaleApi(credential, config.tailnet.name, client, options.tailscale_url)
    where = f"Tailscale ({api.host}, tailnet {config.tailnet.name})"
    unchecked = _unchecked(config, credential)
    try:
        api.sign_in()
        ids = api.key_ids()
        keys = [key for key in (api.key(key_id) for key_id in ids) if key is not None]
        own, own_problem = _own_key(api, credential, keys)
    except HttpError as error:
        if isinstance(error, RejectedError) and error.status in (400, 401):
            # The token endpoint (RFC 6749 5.2: 400 or 401) or the API refuses the credential.
            rejected = Finding(
                CREDENTIAL_ID,
                System.TAILSCALE,
                _credential_name(credential),
                _credential_kind(credential),
                State.REJECTED,
                detail=f"{where} refuses it: {error.reason or f'HTTP {error.status}'}",
                fix=_credential_fix(credential),
            )
            return SourceResult(
                System.TAILSCALE,
                SourceStatus.OK,
                (rejected, *unchecked[1:]),
                requests=client.sent,
            )
        return unjudged(
            System.TAILSCALE, error, unchecked, where, client.sent, _refusal_fix(error, credential)
        )
    findings = [
        _credential_finding(credential, own, options),
        _worker_key_finding(config, keys, options),
        *(_host_key_finding(config, host, keys, options) for host in host_specs(config)),
    ]
    return SourceResult(
        System.TAILSCALE,
        SourceStatus.REFUSED if own_problem else SourceStatus.OK,
        tuple(findings),
        f"{where}: {own_problem}" if own_problem else "",
        client.sent,
        cost="reads only"
        + ("; one OAuth access token minted" if isinstance(credential, OAuthClient) else ""),
    )


def _own_key(
    api: TailscaleApi, credential: TailscaleCredential, keys: Sequence[TailnetKey]
) -> tuple[TailnetKey | None, str]:
    """The credential's own entry (any scope may read its own: trust credentials docs)."""
    own_id = credential.key_id if isinstance(credential, ApiKey) else credential.client_id
    if own_id is None:
        return None, (
            "the API key does not have the tskey-api-<id>-<secret> form, so its own entry "
            "(and expiry) cannot be looked up; use a key from the admin console's Keys page"
        )
    listed = next((key for key in keys if key.id == own_id), None)
    own = listed or api.key(own_id)
    if own is None:
        return None, (
            f"no key {own_id} is visible to this credential; for an API key its ID is read "
            "from the key's text (tskey-api-<id>-…), which Tailscale documents for auth keys "
            "only"
        )
    return own, ""


def _credential_name(credential: TailscaleCredential) -> str:
    if isinstance(credential, ApiKey):
        key_id = credential.key_id
        return f"API key {key_id}" if key_id else "API key"
    # Its ID sits in the SOPS file beside its secret: the report does not name it.
    return "OAuth client"


def _credential_kind(credential: TailscaleCredential) -> str:
    return "api-key" if isinstance(credential, ApiKey) else "oauth-client"


def _credential_fix(credential: TailscaleCredential) -> str:
    if isinstance(credential, ApiKey):
        return (
            "generate a new API access token (admin console > Settings > Keys; 1-90 days) or, "
            "better, an OAuth client, put it in the SOPS file's tailscale.*, and revoke the old "
            "one"
        )
    return (
        "create a new OAuth client with the same scopes and tags (admin console > Settings > "
        "Trust credentials), put its id and secret in the SOPS file's tailscale.oauth_client_*, "
        "and delete the old one"
    )


def _credential_finding(
    credential: TailscaleCredential, own: TailnetKey | None, options: WatchOptions
) -> Finding:
    name = _credential_name(credential)
    kind = _credential_kind(credential)
    fix = _credential_fix(credential)
    if own is None:
        return Finding(
            CREDENTIAL_ID,
            System.TAILSCALE,
            name,
            kind,
            State.UNCHECKED,
            detail="its own entry could not be read (see the source's message)",
            fix=fix,
        )
    if isinstance(credential, OAuthClient) and own.expires is None:
        return Finding(
            CREDENTIAL_ID,
            System.TAILSCALE,
            name,
            kind,
            State.NO_EXPIRY,
            detail=(
                "an OAuth client's secret does not expire: it mints access tokens, each valid "
                f"1 h (kb/1215), until it is revoked ({_TRUST_CREDENTIALS})"
            ),
            fix=fix,
        )
    state = (
        State.REJECTED if own.invalid else expiry_state(own.expires, options.now, options.window)
    )
    detail = (
        "API access tokens expire after 1-90 days (kb/1101); its ID is read from its text, an "
        "inference from the documented auth-key form"
        if isinstance(credential, ApiKey)
        else "this OAuth client reports an expiry of its own"
    )
    return Finding(
        CREDENTIAL_ID,
        System.TAILSCALE,
        name,
        kind,
        state,
        expires_at=own.expires,
        detail=detail,
        fix=fix,
    )


def _matches(key: TailnetKey, spec: KeySpec) -> bool:
    return (
        key.key_type in ("", "auth")
        and key.description == spec.description
        and set(key.tags) == set(spec.tags)
        and key.reusable == spec.reusable
        and key.ephemeral == spec.ephemeral
    )


def _active(key: TailnetKey, now: datetime) -> bool:
    return not key.invalid and (key.expires is None or key.expires > now)


def _worker_key_finding(
    config: StackConfig, keys: Sequence[TailnetKey], options: WatchOptions
) -> Finding:
    spec = worker_key_spec(config)
    valid = [key for key in keys if _matches(key, spec) and _active(key, options.now)]
    name = "worker key"
    fix = "pulumi up --refresh: the rotation clock mints a fresh key and writes it to Infisical"
    if not valid:
        return Finding(
            WORKER_KEY_ID,
            System.TAILSCALE,
            name,
            "auth-key",
            State.MISSING,
            detail=(
                f"no active key described '{spec.description}' with tags {', '.join(spec.tags)}:"
                " new workers cannot join the tailnet"
            ),
            fix=fix + " (recreate_if_invalid: always mints one when the key is gone)",
        )
    current = max(valid, key=lambda key: key.created or _EPOCH)
    due = current.created + timedelta(days=spec.rotation_days) if current.created else None
    older = [key for key in valid if key is not current]
    detail = f"key {current.id}"
    if due is not None:
        overdue = due <= options.now
        detail += (
            f"; rotation due {due:%Y-%m-%d} (keys.worker_key_rotation_days: {spec.rotation_days})"
            + (": overdue, run pulumi up --refresh" if overdue else "")
        )
    if older:
        lapse = max((key.expires for key in older if key.expires), default=None)
        detail += (
            f"; {len(older)} older worker key(s) still valid"
            + (f" until {lapse:%Y-%m-%d}" if lapse else "")
            + " (kept on purpose after a rotation; they lapse on their own)"
        )
    return Finding(
        WORKER_KEY_ID,
        System.TAILSCALE,
        name,
        "auth-key",
        expiry_state(current.expires, options.now, options.window),
        expires_at=current.expires,
        rotation_due_at=due,
        detail=detail,
        fix=fix,
    )


def _host_key_id(host: Host) -> str:
    return f"tailscale.host-key.{host.name}"


def _host_key_finding(
    config: StackConfig, host: Host, keys: Sequence[TailnetKey], options: WatchOptions
) -> Finding:
    spec = host_key_spec(config, host)
    finding_id = _host_key_id(host)
    name = f"host key {host.name} ({host.kind})"
    unused = [key for key in keys if _matches(key, spec) and _active(key, options.now)]
    if not unused:
        return Finding(
            finding_id,
            System.TAILSCALE,
            name,
            "auth-key",
            State.SPENT,
            detail=(
                "no active key: a single-use key leaves the active list once the host joined "
                "with it (or it lapsed or was revoked unused; scripts/verify shows whether the "
                "host is on the tailnet)"
            ),
        )
    first = min(unused, key=lambda key: key.expires or options.now + timedelta(days=36_500))
    return Finding(
        finding_id,
        System.TAILSCALE,
        name,
        "auth-key",
        expiry_state(first.expires, options.now, options.window),
        expires_at=first.expires,
        detail=(
            f"key {first.id} is not used yet: the host joins with it at its first switch; "
            "unused past its expiry it stays lapsed (recreate_if_invalid: never)"
        ),
        fix=(
            f"finish the host's deploy (pulumi up) before then; once lapsed, replace the key: "
            f"pulumi up --replace <URN of {spec.resource_name}> (pulumi stack --show-urns)"
        ),
    )


def _unchecked(config: StackConfig, credential: TailscaleCredential) -> tuple[Finding, ...]:
    """Every finding this source would make, not judged."""
    return (
        Finding(
            CREDENTIAL_ID,
            System.TAILSCALE,
            _credential_name(credential),
            _credential_kind(credential),
            State.UNCHECKED,
        ),
        Finding(WORKER_KEY_ID, System.TAILSCALE, "worker key", "auth-key", State.UNCHECKED),
        *(
            Finding(
                _host_key_id(host),
                System.TAILSCALE,
                f"host key {host.name} ({host.kind})",
                "auth-key",
                State.UNCHECKED,
            )
            for host in host_specs(config)
        ),
    )


def _refusal_fix(error: HttpError, credential: TailscaleCredential) -> str:
    if not isinstance(error, RejectedError):
        return ""
    if error.status == 403:
        if isinstance(credential, OAuthClient):
            return "give the OAuth client the auth_keys:read scope (or auth_keys)"
        return "use an API key of an Owner, Admin, IT admin or Network admin"
    if error.status == 404:
        return "check tailnet.name (or use '-', the credential's own tailnet)"
    return ""
