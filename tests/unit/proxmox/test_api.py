"""proxmox/api.py: the token reads its own user's record through the contract fake."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from infra.ground.http import (
    AnswerRefusedError,
    Client,
    RejectedError,
    RetryPolicy,
    UnavailableError,
)
from infra.proxmox.api import (
    ProxmoxAccessApi,
    TokenEntry,
    UserRecord,
    effective_expiry,
    parse_api_token,
    parse_user,
)
from tests.support.http_fakes import Reply, json_reply, serve
from tests.support.proxmox_access_fake import UNAUTHORIZED_DELAY, ProxmoxAccessFake

FAST = RetryPolicy(first_delay=0.01, max_delay=0.02, total_seconds=1.0, request_seconds=5.0)
SECRET = "CANARY-pve-7f3a9c"
TOKEN = f"pulumi@pve!relaymd={SECRET}"


@pytest.fixture
def fake() -> ProxmoxAccessFake:
    fake = ProxmoxAccessFake(unauthorized_delay=0.05)
    fake.add_token("pulumi@pve", "relaymd", SECRET, expire=2_000_000_000)
    return fake


@pytest.fixture
def url(fake: ProxmoxAccessFake) -> Iterator[str]:
    with serve(fake.handle) as base:
        yield base


def _api(url: str, token: str = TOKEN) -> ProxmoxAccessApi:
    parsed = parse_api_token(token)
    assert parsed is not None
    return ProxmoxAccessApi(url, parsed, Client(FAST))


def test_the_token_form_the_provider_accepts() -> None:
    token = parse_api_token(TOKEN)
    assert token is not None
    assert (token.user_id, token.token_name, token.full_id) == (
        "pulumi@pve",
        "relaymd",
        "pulumi@pve!relaymd",
    )
    assert SECRET not in repr(token)
    for wrong in ("pulumi@pve=abc", "pulumi!relaymd=abc", f"{TOKEN} ", "pulumi@pve!t=a_b"):
        assert parse_api_token(wrong) is None


def test_the_token_reads_its_users_record_with_every_tokens_expiry(url: str) -> None:
    user = _api(url).user()
    assert user.enabled
    assert user.expire is None
    assert user.tokens["relaymd"] == TokenEntry(
        datetime.fromtimestamp(2_000_000_000, UTC), privilege_separated=True
    )


def test_the_token_ends_with_the_earlier_of_its_own_and_its_users_expiry() -> None:
    soon, later = datetime(2026, 8, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    user = UserRecord("u@pve", True, soon, {})
    assert effective_expiry(user, TokenEntry(later, True)) == soon
    assert effective_expiry(UserRecord("u@pve", True, None, {}), TokenEntry(later, True)) == later
    assert effective_expiry(UserRecord("u@pve", True, None, {}), TokenEntry(None, True)) is None


def test_a_refused_token_is_401_authentication_failed(url: str, fake: ProxmoxAccessFake) -> None:
    with pytest.raises(RejectedError) as refused:
        _api(url, "pulumi@pve!relaymd=CANARY-wrong-7f3a9c").user()
    assert (refused.value.status, refused.value.reason) == (401, "Authentication failed!")
    # Expired by its own date: the same answer (verify_token).
    fake.users["pulumi@pve"].tokens["relaymd"].expire = int(time.time()) - 1
    with pytest.raises(RejectedError, match="401"):
        _api(url).user()


def test_401_comes_three_seconds_late_as_pveproxy_sends_it() -> None:
    """The fake keeps upstream's delay by default; the watch waits it out, once."""
    fake = ProxmoxAccessFake()
    assert fake.unauthorized_delay == UNAUTHORIZED_DELAY == 3.0
    with serve(fake.handle) as url, pytest.raises(RejectedError, match="401"):
        _api(url).user()
    assert len(fake.requests) == 1  # a 401 is not retried


def test_without_sys_audit_the_read_is_403_and_a_privsep_token_needs_its_own(
    url: str, fake: ProxmoxAccessFake
) -> None:
    fake.audit = {"pulumi@pve"}  # the user holds it, the privilege-separated token does not
    with pytest.raises(RejectedError) as refused:
        _api(url).user()
    assert (refused.value.status, refused.value.reason) == (403, "Permission check failed")
    fake.users["pulumi@pve"].tokens["relaymd"].privsep = False
    assert _api(url).user().user_id == "pulumi@pve"


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"data": {"enable": 1, "expire": "0"}}, "'expire' is a string"),
        ({"data": {"enable": True, "expire": 0}}, "'enable' is a boolean"),
        ({"data": {"enable": 1, "expire": -5}}, "at least 0"),
        ({"data": {"enable": 1, "tokens": {"t": {"expire": 1.5}}}}, "'expire' is a number"),
        ({"data": {"enable": 1, "tokens": ["t"]}}, "'tokens' is a list"),
        ({"data": None}, "got null"),
    ],
)
def test_each_field_of_the_record_is_typed_before_use(document: object, expected: str) -> None:
    with pytest.raises(AnswerRefusedError, match=expected):
        parse_user(document, "u@pve")


def test_a_server_error_is_retried_then_unavailable(url: str, fake: ProxmoxAccessFake) -> None:
    error = json_reply(500, {"data": None, "message": "cluster not ready\n"})
    fake.failures.answer("GET", "/access/users/", error, times=100)
    with pytest.raises(UnavailableError, match="HTTP 500 to read user pulumi@pve: cluster"):
        _api(url).user()
    assert len(fake.requests) > 1


def test_a_body_that_is_not_the_api_is_refused(url: str, fake: ProxmoxAccessFake) -> None:
    fake.failures.answer("GET", "/access/users/", Reply(200, b"<html>pve</html>"))
    with pytest.raises(AnswerRefusedError, match="not JSON"):
        _api(url).user()
