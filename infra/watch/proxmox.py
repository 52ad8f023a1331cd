"""Proxmox: when the stack's API token stops authenticating (its own or its user's expiry).

One read, ``GET /access/users/{userid}`` (infra/proxmox/api.py); it needs ``Sys.Audit`` on
``/access/groups`` (or on a group of the token's user) for the user and, for a
privilege-separated token, for the token itself.
"""

from __future__ import annotations

from infra.config.secrets import ProxmoxCredentials
from infra.config.settings import ProxmoxConfig
from infra.ground.http import Client, HttpError, RejectedError
from infra.proxmox.api import ApiToken, ProxmoxAccessApi, effective_expiry, parse_api_token
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

TOKEN_ID = "proxmox.api-token"
_FIX = (
    "create a token (Datacenter > Permissions > API Tokens, or pveum user token add), grant it "
    "the roles the old one had, put <user>@<realm>!<token>=<secret> in the SOPS file's "
    "proxmox.api_token, then remove the old token"
)


def watch_proxmox(
    config: ProxmoxConfig | None, secrets: ProxmoxCredentials | None, options: WatchOptions
) -> SourceResult:
    if config is None or secrets is None:
        return SourceResult(
            System.PROXMOX,
            SourceStatus.NOT_CONFIGURED,
            message="the stack has no relays, so no Proxmox API token",
        )
    token = parse_api_token(secrets.api_token.get_secret_value())
    if token is None:
        return SourceResult(
            System.PROXMOX,
            SourceStatus.REFUSED,
            (Finding(TOKEN_ID, System.PROXMOX, "API token", "api-token", State.UNCHECKED),),
            "proxmox.api_token (SOPS): expected <user>@<realm>!<token>=<secret>, the form the "
            "provider accepts",
        )
    endpoint = options.proxmox_url or config.endpoint
    client = Client(options.policy, verify_tls=not config.insecure)
    api = ProxmoxAccessApi(endpoint, token, client)
    where = f"Proxmox ({api.host})" + (
        ", TLS not verified (proxmox.insecure)" if config.insecure else ""
    )
    unchecked = (Finding(TOKEN_ID, System.PROXMOX, _name(token), "api-token", State.UNCHECKED),)
    try:
        user = api.user()
    except HttpError as error:
        if isinstance(error, RejectedError) and error.status == 401:
            rejected = Finding(
                TOKEN_ID,
                System.PROXMOX,
                _name(token),
                "api-token",
                State.REJECTED,
                detail=(
                    f"{where} refuses it ({error.reason or 'HTTP 401'}): expired, removed, or "
                    "its user disabled or expired; Proxmox does not say which"
                ),
                fix=_FIX,
            )
            return SourceResult(System.PROXMOX, SourceStatus.OK, (rejected,), requests=client.sent)
        return unjudged(
            System.PROXMOX, error, unchecked, where, client.sent, _permission_fix(token, error)
        )
    entry = user.tokens.get(token.token_name)
    if entry is None:
        return SourceResult(
            System.PROXMOX,
            SourceStatus.REFUSED,
            unchecked,
            f"{where}: user {user.user_id}'s record lists no token {token.token_name}, yet the "
            "token authenticated: an answer that contradicts itself",
            client.sent,
        )
    if not user.enabled:
        finding = Finding(
            TOKEN_ID,
            System.PROXMOX,
            _name(token),
            "api-token",
            State.REJECTED,
            detail=f"user {user.user_id} is disabled: none of its tokens authenticates",
            fix=f"enable user {user.user_id} (pveum user modify {user.user_id} --enable 1)",
        )
        return SourceResult(System.PROXMOX, SourceStatus.OK, (finding,), requests=client.sent)
    expires = effective_expiry(user, entry)
    bound_by = (
        "never expires (token and user expire 0)"
        if expires is None
        else "its own expiry"
        if expires == entry.expire
        else f"user {user.user_id}'s expiry, before the token's own"
    )
    finding = Finding(
        TOKEN_ID,
        System.PROXMOX,
        _name(token),
        "api-token",
        expiry_state(expires, options.now, options.window),
        expires_at=expires,
        detail=f"ends with {bound_by}"
        + ("; privilege-separated" if entry.privilege_separated else ""),
        fix=_FIX,
    )
    return SourceResult(
        System.PROXMOX, SourceStatus.OK, (finding,), requests=client.sent, cost="reads only"
    )


def _name(token: ApiToken) -> str:
    return f"API token {token.full_id}"


def _permission_fix(token: ApiToken, error: HttpError) -> str:
    if not (isinstance(error, RejectedError) and error.status == 403):
        return ""
    return (
        f"the watch reads the token's user record, which needs Sys.Audit on /access/groups for "
        f"{token.user_id} and, for a privilege-separated token, for the token too: pveum acl "
        f"modify /access/groups --roles PVEAuditor --users {token.user_id} --tokens "
        f"'{token.full_id}'"
    )
