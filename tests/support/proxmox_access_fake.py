"""A contract fake of Proxmox VE's access API (``/api2/json/access/users/{userid}``), on loopback.

Not Proxmox: only the read the credential watch makes, with the behaviour of
proxmox/pve-access-control 9.1.1 (5ccd07d9) and proxmox/pve-http-server 6.0.5 (5c9e4ea7):

- auth    = ``AccessControl.pm`` ``verify_token``/``check_user_enabled``: a token
            ``PVEAPIToken=<user>@<realm>!<token>=<secret>`` authenticates while its user exists,
            is enabled and not expired, the token exists, is not expired and the secret matches.
            Any failure: ``401 Authentication failed!`` with no body, sent 3 seconds late
            (pve-manager ``HTTPServer.pm`` ``auth_handler``; ``APIServer/AnyEvent.pm``: "always
            delay unauthorized calls by 3 seconds").
- read    = ``API2/User.pm`` ``read_user``: ``check => ['userid-group', ['User.Modify',
            'Sys.Audit']]``; the answer holds ``enable``, ``expire``, the optional names,
            ``groups`` and ``tokens: {<name>: {expire, privsep, comment?}}``
            (``$extract_user_data``), numbers as ``parse_user_config`` makes them (``int``).
- perms   = ``RPCEnvironment.pm`` ``userid-group`` (line 493): the privilege on
            ``/access/groups``, or on a group of the user; else ``raise_perm_exc()``: 403
            "Permission check failed". A privilege-separated token holds the intersection of
            its user's and its own privileges (``permissions``).
- format  = ``Formatter/Standard.pm``: ``{"data": ...}``; an error adds ``"message"``, and the
            status line carries the message as its reason.

pveproxy has no rate limit, so there is no 429 here; 5xx, late and malformed answers are
injected with ``failures``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.support.http_fakes import Failures, Incoming, Reply, json_reply

UNAUTHORIZED_DELAY = 3.0
"""AnyEvent.pm: every unauthorized call is answered this many seconds late."""


@dataclass
class FakeToken:
    secret: str = field(repr=False)
    expire: int = 0
    privsep: bool = True
    comment: str = ""


@dataclass
class FakeUser:
    enable: bool = True
    expire: int = 0
    groups: list[str] = field(default_factory=list)
    tokens: dict[str, FakeToken] = field(default_factory=dict)


class ProxmoxAccessFake:
    def __init__(self, unauthorized_delay: float = UNAUTHORIZED_DELAY) -> None:
        self.users: dict[str, FakeUser] = {}
        self.audit: set[str] = set()
        """User IDs and full token IDs holding Sys.Audit on /access/groups."""
        self.unauthorized_delay = unauthorized_delay
        self.failures = Failures()
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def add_token(
        self,
        user_id: str,
        token: str,
        secret: str,
        *,
        expire: int = 0,
        user_expire: int = 0,
        privsep: bool = True,
        audit: bool = True,
    ) -> None:
        user = self.users.setdefault(user_id, FakeUser(expire=user_expire))
        user.expire = user_expire
        user.tokens[token] = FakeToken(secret, expire, privsep)
        if audit:
            self.audit |= {user_id, f"{user_id}!{token}"}

    def handle(self, request: Incoming) -> Reply:
        path = unquote(urlsplit(request.target).path)
        with self._lock:
            self.requests.append((request.method, path))
        injected, delay = self.failures.take(request.method, path)
        if injected is not None:
            return injected
        reply = self._route(request, path)
        reply.delay = max(reply.delay, delay)
        return reply

    def _route(self, request: Incoming, path: str) -> Reply:
        authenticated = self._authenticate(request.headers.get("authorization", ""))
        if authenticated is None:
            return Reply(401, b"", "Authentication failed!", delay=self.unauthorized_delay)
        prefix = "/api2/json/access/users/"
        if request.method == "GET" and path.startswith(prefix) and "/" not in path[len(prefix) :]:
            return self._read_user(authenticated, path.removeprefix(prefix))
        return _error(501, f"Method '{request.method} {path}' not implemented")

    def _authenticate(self, authorization: str) -> tuple[str, str] | None:
        """auth: the (user, token) a request authenticates as, or None."""
        scheme, _, value = authorization.partition("=")
        token_id, equals, secret = value.partition("=")
        user_id, bang, name = token_id.partition("!")
        if scheme != "PVEAPIToken" or not (equals and bang):
            return None
        user = self.users.get(user_id)
        now = time.time()
        if user is None or not user.enable or (user.expire and user.expire < now):
            return None
        token = user.tokens.get(name)
        if token is None or (token.expire and token.expire < now) or token.secret != secret:
            return None
        return user_id, name

    def _holds_audit(self, user_id: str, token: str) -> bool:
        """perms: a privilege-separated token needs the privilege itself and through its user."""
        held = user_id in self.audit
        if self.users[user_id].tokens[token].privsep:
            held = held and f"{user_id}!{token}" in self.audit
        return held

    def _read_user(self, caller: tuple[str, str], user_id: str) -> Reply:
        if not self._holds_audit(*caller):
            return _error(403, "Permission check failed")
        user = self.users.get(user_id)
        if user is None:
            return _error(500, f"no such user ('{user_id}')")
        data: dict[str, Any] = {
            "enable": int(user.enable),
            "expire": user.expire,
            "groups": sorted(user.groups),
            "tokens": {
                name: {"expire": token.expire, "privsep": int(token.privsep)}
                | ({"comment": token.comment} if token.comment else {})
                for name, token in user.tokens.items()
            },
        }
        return json_reply(200, {"data": data})


def _error(status: int, message: str) -> Reply:
    """format: the message in the body and as the status line's reason."""
    reply = json_reply(status, {"data": None, "message": f"{message}\n"})
    reply.reason = message
    return reply
