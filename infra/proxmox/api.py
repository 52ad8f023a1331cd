"""Proxmox VE's access API, read-only: when the stack's API token stops working.

Built from proxmox/pve-access-control 9.1.1 (5ccd07d9) and pve-http-server 6.0.5 (5c9e4ea7):

- A token authenticates as ``Authorization: PVEAPIToken=<user>@<realm>!<token>=<secret>``
  (bpg/terraform-provider-proxmox ``proxmox/api/token_auth.go``), and it ends when its own
  ``expire`` passes ("token '…' access expired") or its user is disabled or expired
  (``AccessControl.pm`` ``verify_token``, ``check_user_enabled``).
- A token cannot read its own entry: ``GET /access/users/{userid}/token/{tokenid}`` wants
  ``User.Modify`` or the user itself, and for a token the user is the token ID
  (``API2/User.pm`` ``read_token``). ``GET /access/users/{userid}`` (``read_user``) wants
  ``User.Modify`` *or* ``Sys.Audit`` on ``/access/groups`` or a group of the user, and answers
  the user's ``enable`` and ``expire`` with every token's ``expire`` and ``privsep``: that is
  the one read the watch makes, and ``Sys.Audit`` is all it needs.
- ``expire`` is whole seconds since the epoch, 0 for never (``parse_user_config``: ``int``).
- Answers are ``{"data": …}``; an error adds ``"message"`` (``Formatter/Standard.pm``). An
  authentication failure is ``401 Authentication failed!`` after a 3 s delay
  (``APIServer/AnyEvent.pm``); a permission failure is ``403 Permission check failed (…)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from infra.ground.answers import Fields, json_object
from infra.ground.http import Answer, AnswerRefusedError, Client, Request, refusal, service_words

# bpg's newTokenCredentials (proxmox/api/credentials.go) accepts exactly this form.
_API_TOKEN = re.compile(r"(?P<user>\S+@\S+)!(?P<token>\S+)=(?P<secret>[a-zA-Z0-9-]+)")


@dataclass(frozen=True)
class ApiToken:
    user_id: str
    """``<user>@<realm>``: not secret."""
    token_name: str
    """The token's ID within its user: not secret."""
    secret: str = field(repr=False)

    @property
    def full_id(self) -> str:
        return f"{self.user_id}!{self.token_name}"


def parse_api_token(value: str) -> ApiToken | None:
    """``<user>@<realm>!<token>=<secret>``, as the provider accepts it; None otherwise."""
    found = _API_TOKEN.fullmatch(value)
    if found is None:
        return None
    return ApiToken(found.group("user"), found.group("token"), found.group("secret"))


@dataclass(frozen=True)
class TokenEntry:
    expire: datetime | None
    """None: no expiry of its own."""
    privilege_separated: bool


@dataclass(frozen=True)
class UserRecord:
    user_id: str
    enabled: bool
    expire: datetime | None
    """None: the user never expires."""
    tokens: dict[str, TokenEntry]


def effective_expiry(user: UserRecord, token: TokenEntry) -> datetime | None:
    """When the token stops authenticating: the earlier of its own and its user's expiry."""
    ends = [moment for moment in (user.expire, token.expire) if moment is not None]
    return min(ends) if ends else None


class ProxmoxAccessApi:
    """One API token reading its own user's record."""

    def __init__(self, endpoint: str, token: ApiToken, client: Client) -> None:
        self._base = endpoint.rstrip("/") + "/api2/json"
        self._token = token
        self._client = client

    @property
    def host(self) -> str:
        return Request("GET", self._base).host

    def user(self) -> UserRecord:
        """``GET /access/users/{userid}`` for the token's own user."""
        user_id = self._token.user_id
        answer = self._client.call(
            Request(
                "GET",
                f"{self._base}/access/users/{quote(user_id, safe='@')}",
                {
                    "Authorization": f"PVEAPIToken={self._token.full_id}={self._token.secret}",
                    "Accept": "application/json",
                },
            )
        )
        if not 200 <= answer.status < 300:
            raise refusal(answer, self.host, f"read user {user_id}", _message(answer))
        return parse_user(answer.json(), user_id)


def _message(answer: Answer) -> str:
    """The JSON body's ``message``, else the status line's reason (401 has no body)."""
    try:
        document = answer.json()
    except AnswerRefusedError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("message"), str):
        return service_words(document["message"])
    return service_words(answer.reason)


def parse_user(value: object, user_id: str) -> UserRecord:
    """``read_user``'s answer, every field the watch uses typed."""
    data = json_object(json_object(value, f"user {user_id}").get("data"), f"user {user_id}")
    fields = Fields(data, f"user {user_id}")
    tokens = {}
    for name, entry in fields.object("tokens").items():
        token = Fields(json_object(entry, f"token {name}"), f"token {user_id}!{name}")
        tokens[str(name)] = TokenEntry(
            _epoch(token, "expire"), bool(token.whole("privsep", 1, minimum=0))
        )
    return UserRecord(
        user_id=user_id,
        enabled=bool(fields.whole("enable", 1, minimum=0)),
        expire=_epoch(fields, "expire"),
        tokens=tokens,
    )


def _epoch(fields: Fields, name: str) -> datetime | None:
    seconds = fields.whole(name, 0, minimum=0)
    return datetime.fromtimestamp(seconds, UTC) if seconds else None
