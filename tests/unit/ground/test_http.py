"""ground/http.py against real loopback servers: no redirect, one deadline, bounded answers."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from infra.ground.http import (
    Answer,
    AnswerRefusedError,
    Client,
    NoAnswerError,
    NotSentError,
    Request,
    RetryPolicy,
    exchange,
    retry_after_seconds,
)
from tests.support.http_fakes import Incoming, Reply, json_reply, serve

CANARY = "CANARY-bearer-7f3a9c"


@pytest.fixture
def seen() -> list[Incoming]:
    return []


@pytest.fixture
def elsewhere(seen: list[Incoming]) -> Iterator[str]:
    """Another host a redirect could send the credential to: it records what reaches it."""

    def record(request: Incoming) -> Reply:
        seen.append(request)
        return json_reply(200, {"stolen": True})

    with serve(record) as url:
        yield url


def test_a_redirect_is_refused_and_the_credential_never_reaches_its_target(
    elsewhere: str, seen: list[Incoming]
) -> None:
    with serve(lambda _: Reply(307, headers={"Location": f"{elsewhere}/token"})) as url:
        request = Request("POST", f"{url}/login", {"Authorization": CANARY}, b"{}")
        with pytest.raises(AnswerRefusedError, match=r"307, a redirect to 127\.0\.0\.1") as refused:
            exchange(request, 5.0)
    assert seen == []
    assert CANARY not in str(refused.value)
    # The control: the target itself answers whoever asks it directly.
    assert exchange(Request("GET", elsewhere), 5.0).status == 200
    assert len(seen) == 1


def test_an_answer_over_the_bound_is_refused_whether_announced_or_not() -> None:
    with serve(lambda _: Reply(200, b"x" * 2048)) as url:
        with pytest.raises(AnswerRefusedError, match="announced an answer of 2048 bytes"):
            exchange(Request("GET", url), 5.0, max_answer_bytes=1024)
        assert len(exchange(Request("GET", url), 5.0, max_answer_bytes=2048).body) == 2048


def test_an_unannounced_body_is_cut_at_the_bound() -> None:
    # HTTP/1.0 style: no Content-Length, the body ends when the connection closes.
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        import threading

        def answer() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + b"y" * 4096)

        threading.Thread(target=answer, daemon=True).start()
        with pytest.raises(AnswerRefusedError, match="over 1024 bytes"):
            exchange(Request("GET", f"http://127.0.0.1:{port}/"), 5.0, max_answer_bytes=1024)


def test_one_deadline_bounds_an_answer_that_trickles_in() -> None:
    """Each byte arrives well within a per-read timeout; the whole answer never would."""
    with (
        serve(lambda _: Reply(200, b"z" * 400, drip=0.05)) as url,
        pytest.raises(NoAnswerError, match=r"no complete answer within 0\.5 s"),
    ):
        exchange(Request("GET", url), 0.5)
    # The control: given the time, the same answer arrives whole.
    with serve(lambda _: Reply(200, b"z" * 20, drip=0.01)) as url:
        assert exchange(Request("GET", url), 5.0).body == b"z" * 20


def test_a_server_that_never_answers_is_no_answer_and_one_that_is_not_there_is_not_sent() -> None:
    with socket.socket() as silent:  # accepts (the backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        with pytest.raises(NoAnswerError):
            exchange(Request("GET", f"http://127.0.0.1:{silent.getsockname()[1]}/"), 0.3)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(NotSentError, match=f"could not connect to 127.0.0.1:{closed}"):
        exchange(Request("GET", f"http://127.0.0.1:{closed}/"), 2.0)


def test_errors_name_the_host_never_the_userinfo_or_a_header() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    request = Request("GET", f"http://user:{CANARY}@127.0.0.1:{closed}/", {"X-Key": CANARY})
    assert CANARY not in repr(request)
    assert "127.0.0.1" in request.host
    with pytest.raises(NotSentError) as failed:
        exchange(request, 2.0)
    assert CANARY not in str(failed.value)


class _Script:
    """A scripted ``send``: each call answers the next status (or raises the next error)."""

    def __init__(self, *steps: int | Exception, retry_after: str | None = None) -> None:
        self.steps = list(steps)
        self.retry_after = retry_after
        self.calls = 0

    def __call__(self, request: Request, deadline: float, bound: int, verify: bool) -> Answer:
        step = self.steps[min(self.calls, len(self.steps) - 1)]
        self.calls += 1
        if isinstance(step, Exception):
            raise step
        headers = {"retry-after": self.retry_after} if self.retry_after else {}
        return Answer(step, "", headers, b"{}")


def _client(script: _Script, waits: list[float], total: float = 10.0) -> Client:
    """A client on a clock that only its own waits move."""
    elapsed = [0.0]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        elapsed[0] += seconds

    return Client(
        RetryPolicy(first_delay=1.0, max_delay=4.0, total_seconds=total),
        send=script,
        sleep=sleep,
        clock=lambda: elapsed[0],
    )


def test_429_is_retried_after_the_servers_retry_after() -> None:
    waits: list[float] = []
    script = _Script(429, 429, 200, retry_after="2")
    client = _client(script, waits)
    assert client.call(Request("GET", "http://h/")).status == 200
    assert (waits, client.sent) == ([2.0, 2.0], 3)


def test_5xx_and_lost_answers_are_retried_only_for_idempotent_requests() -> None:
    waits: list[float] = []
    assert _client(_Script(503, 200), waits).call(Request("GET", "http://h/")).status == 200
    once = _Script(503, 200)
    assert _client(once, waits).call(Request("POST", "http://h/", idempotent=False)).status == 503
    assert once.calls == 1
    lost = _Script(NoAnswerError("lost"), 200)
    with pytest.raises(NoAnswerError):
        _client(lost, waits).call(Request("POST", "http://h/", idempotent=False))
    assert lost.calls == 1
    # Never sent is always safe to send again.
    assert (
        _client(_Script(NotSentError("refused"), 200), waits)
        .call(Request("POST", "http://h/", idempotent=False))
        .status
        == 200
    )


def test_the_retries_stop_within_the_total_and_report_the_last_answer() -> None:
    waits: list[float] = []
    endless = _Script(503)
    assert _client(endless, waits, total=20.0).call(Request("GET", "http://h/")).status == 503
    assert 1 < endless.calls < 10
    assert max(waits) <= 4.0
    with pytest.raises(NotSentError):
        _client(_Script(NotSentError("down")), [], total=5.0).call(Request("GET", "http://h/"))


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds(Answer(429, "", {"retry-after": "7"}, b"")) == 7.0
    assert retry_after_seconds(Answer(429, "", {}, b"")) is None
    dated = Answer(429, "", {"retry-after": "Wed, 01 Jul 2026 12:00:10 GMT"}, b"")
    from datetime import UTC, datetime

    assert retry_after_seconds(dated, datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) == 10.0


def test_https_goes_through_the_proxy_unless_no_proxy_names_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from infra.ground import http

    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    monkeypatch.setenv("no_proxy", "direct.example")
    assert http._https_proxy("api.tailscale.com") == "http://proxy.example:3128"
    assert http._https_proxy("direct.example") is None
    tunnel = http._connection("https", "api.tailscale.com", None, 5.0, True)
    assert (tunnel.host, tunnel._tunnel_host) == ("proxy.example", "api.tailscale.com")  # type: ignore[attr-defined]
