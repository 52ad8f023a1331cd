"""Infisical: the deploy identity's and the orchestrator's universal-auth client secrets.

Cost, stated in every report: **one login** as the deploy identity (it spends one use of that
client secret when it is use-limited, and counts against Infisical's write rate limit), then
per identity one read of its universal-auth settings and one list of its client secrets (read
rate limit). The orchestrator's secret is never used to log in: a login spends a use, and
three failed logins lock an identity out for 5 minutes (identity-ua-service.ts ``login``), so a
watch must not try the credential RelayMD depends on.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra.config.secrets import StackSecrets, split_infisical_token
from infra.config.settings import InfisicalConfig
from infra.ground.http import AnswerRefusedError
from infra.infisical.api import (
    InfisicalApiError,
    InfisicalUnreachableError,
    SecretsApi,
)
from infra.infisical.client_secrets import (
    ClientSecretInfo,
    in_use,
    parse_client_secrets,
    universal_auth_client_id,
)
from infra.infisical.identities import deploy_identity
from infra.watch.model import (
    Finding,
    SourceResult,
    SourceStatus,
    State,
    System,
    limited_state,
)
from infra.watch.options import WatchOptions

DEPLOY_ID = "infisical.deploy-client-secret"
ORCHESTRATOR_ID = "infisical.orchestrator-client-secret"

# identity-ua-service.ts ``login``: the messages of its 401s, and what each means here.
_LOGIN_REFUSALS = (
    ("expired client secret", State.EXPIRED),
    ("usage limit reached", State.USED_UP),
    ("temporarily locked", State.REJECTED),
    ("Invalid credentials", State.REJECTED),
)


@dataclass(frozen=True)
class _Watched:
    finding_id: str
    name: str
    setting: str
    """The stack setting naming the identity."""
    identity_id: str | None
    client_id: str
    client_secret: str
    secret_field: str
    """Where the SOPS file holds the secret (for the fix)."""
    fix: str


def _watched(config: InfisicalConfig, secrets: StackSecrets) -> tuple[_Watched, _Watched]:
    orchestrator_id, orchestrator_secret = split_infisical_token(
        secrets.orchestrator.infisical_token.get_secret_value()
    )
    return (
        _Watched(
            DEPLOY_ID,
            "deploy identity's client secret",
            "infisical.deploy_identity_id",
            config.deploy_identity_id,
            secrets.infisical.client_id.get_secret_value(),
            secrets.infisical.client_secret.get_secret_value(),
            "infisical.client_secret",
            "add a client secret to the deploy identity (Access Control > Identities > the "
            "identity > Universal Auth) and put it in the SOPS file's infisical.client_secret; "
            "keep the old one valid for now: Pulumi's state holds a copy (docs/operating.md, "
            "Credentials and rotation)",
        ),
        _Watched(
            ORCHESTRATOR_ID,
            "orchestrator's client secret",
            "infisical.orchestrator_identity_id",
            config.orchestrator_identity_id,
            orchestrator_id,
            orchestrator_secret,
            "orchestrator.infisical_token",
            "add a client secret to the orchestrator's identity, set the SOPS file's "
            "orchestrator.infisical_token to <client_id>:<new secret>, pulumi up, restart "
            "podman-relaymd-orchestrator on the host, and revoke the old secret once the "
            "workers launched with it have ended",
        ),
    )


def watch_infisical(
    config: InfisicalConfig, secrets: StackSecrets, options: WatchOptions
) -> SourceResult:
    deploy, orchestrator = _watched(config, secrets)
    site_url = options.infisical_url or config.site_url
    where = f"Infisical ({site_url})"
    unchecked = tuple(
        Finding(
            watched.finding_id, System.INFISICAL, watched.name, "client-secret", State.UNCHECKED
        )
        for watched in (deploy, orchestrator)
    )
    missing = [watched.setting for watched in (deploy, orchestrator) if not watched.identity_id]
    if missing:
        return SourceResult(
            System.INFISICAL,
            SourceStatus.REFUSED,
            unchecked,
            f"{where}: set {' and '.join(missing)} in Pulumi.<stack>.yaml: Infisical lists an "
            "identity's client secrets by its ID (Access Control > Identities > the identity), "
            "which no answer maps from a client ID (docs/operating.md, Watching credentials)",
        )
    policy = options.policy
    try:
        api = SecretsApi(deploy_identity(secrets, site_url), policy)
    except InfisicalUnreachableError as error:
        return SourceResult(System.INFISICAL, SourceStatus.UNREACHABLE, unchecked, str(error), 1)
    except InfisicalApiError as error:
        if error.status == 401:
            state = next(
                (state for text, state in _LOGIN_REFUSALS if text in error.reason),
                State.REJECTED,
            )
            refused = Finding(
                DEPLOY_ID,
                System.INFISICAL,
                deploy.name,
                "client-secret",
                state,
                detail=f"{where} refuses the login: {error.reason or 'HTTP 401'}",
                fix=deploy.fix,
            )
            return SourceResult(
                System.INFISICAL,
                SourceStatus.OK,
                (refused, unchecked[1]),
                requests=1,
                cost="1 login refused (no use spent; a wrong secret counts toward the lockout)",
            )
        return SourceResult(System.INFISICAL, SourceStatus.REFUSED, unchecked, str(error), 1)
    findings: list[Finding] = []
    with api:
        for watched in (deploy, orchestrator):
            try:
                findings.append(_finding(api, watched, options))
            except InfisicalUnreachableError as error:
                return _partial(
                    SourceStatus.UNREACHABLE, findings, unchecked, str(error), api.requests_sent
                )
            except (InfisicalApiError, AnswerRefusedError) as error:
                return _partial(
                    SourceStatus.REFUSED,
                    findings,
                    unchecked,
                    f"{where}: {_explain(watched, error)}",
                    api.requests_sent,
                )
    return SourceResult(
        System.INFISICAL,
        SourceStatus.OK,
        tuple(findings),
        requests=api.requests_sent,
        cost="1 login as the deploy identity: spends 1 use of its client secret when that is "
        "use-limited",
    )


def _partial(
    status: SourceStatus,
    findings: list[Finding],
    unchecked: tuple[Finding, ...],
    message: str,
    requests: int,
) -> SourceResult:
    done = {finding.id for finding in findings}
    rest = tuple(finding for finding in unchecked if finding.id not in done)
    return SourceResult(System.INFISICAL, status, (*findings, *rest), message, requests)


def _explain(watched: _Watched, error: Exception) -> str:
    status = error.status if isinstance(error, InfisicalApiError) else None
    if status == 404:
        return f"{error}: check {watched.setting}"
    if status == 403:
        return (
            f"{error}: the deploy identity may not read identity {watched.identity_id}'s client "
            "secrets; give it the organization permission Identities: Read and a role at least "
            "as privileged as that identity's (for a project identity: the project permission "
            "Identity: Get token); docs/operating.md, Watching credentials"
        )
    return str(error)


def _finding(api: SecretsApi, watched: _Watched, options: WatchOptions) -> Finding:
    identity_id = watched.identity_id or ""
    client_id = universal_auth_client_id(api.universal_auth(identity_id), identity_id)
    if client_id != watched.client_id:
        raise AnswerRefusedError(
            f"identity {identity_id} ({watched.setting}) has another universal-auth client ID "
            f"than the one in the SOPS file's {watched.secret_field}: set {watched.setting} to "
            "the identity that client ID belongs to"
        )
    listed = parse_client_secrets(api.client_secrets(identity_id), identity_id)
    candidates = in_use(listed, watched.client_secret)
    if not candidates:
        return Finding(
            watched.finding_id,
            System.INFISICAL,
            watched.name,
            "client-secret",
            State.MISSING,
            detail=(
                f"the secret in {watched.secret_field} is not among identity {identity_id}'s "
                f"{len(listed)} active client secret(s): it was revoked (Infisical revokes an "
                "expired or used-up secret at the first login that tries it)"
            ),
            fix=watched.fix,
        )
    return _judged(watched, candidates, options)


def _judged(
    watched: _Watched, candidates: tuple[ClientSecretInfo, ...], options: WatchOptions
) -> Finding:
    judged = [
        (
            secret,
            *limited_state(
                secret.expires_at,
                secret.uses,
                secret.uses_limit,
                secret.created_at,
                options.now,
                options.window,
            ),
        )
        for secret in candidates
    ]
    # Two secrets sharing the prefix cannot be told apart: report the one that ends first.
    secret, state, projected = min(
        judged,
        key=lambda item: (
            item[0].expires_at or options.now.replace(year=9999),
            -(item[0].uses or 0),
        ),
    )
    limit = f"{secret.uses}/{secret.uses_limit} uses" if secret.uses_limit else "unlimited uses"
    ttl = f"TTL {secret.ttl_seconds // 86_400} d" if secret.ttl_seconds else "no TTL"
    detail = f"client secret {secret.id}, created {secret.created_at:%Y-%m-%d}, {ttl}, {limit}"
    if projected is not None:
        detail += f"; at its rate so far the uses run out {projected:%Y-%m-%d}"
    if watched.finding_id == DEPLOY_ID and secret.uses_limit:
        detail += " (this watch's login spent one)"
    if len(candidates) > 1:
        detail += f"; {len(candidates)} secrets share its prefix, the first to end is shown"
    return Finding(
        watched.finding_id,
        System.INFISICAL,
        watched.name,
        "client-secret",
        state,
        expires_at=secret.expires_at,
        uses=secret.uses,
        uses_limit=secret.uses_limit,
        runs_out_at=projected,
        detail=detail,
        fix=watched.fix,
    )
