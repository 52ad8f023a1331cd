"""One HTTP exchange under the rules every API client of this project keeps.

- **No redirect is followed**: a 3xx answer is refused, so a credential in a header or body
  never leaves for another host (``http.client`` never follows one by itself).
- **One total deadline per request**: connecting, sending, the status line, the headers and the
  body share it. A watchdog shuts the socket down when it passes, so a server that answers one
  byte at a time cannot stretch it the way a per-read socket timeout can be stretched.
- **Bounded answers**: a body larger than ``max_answer_bytes`` is refused, unread.
- Proxies: an ``https`` request goes through ``https_proxy`` (CONNECT) unless ``no_proxy``
  names the host, as ``requests`` and Go's ``net/http`` do; the TLS session is end to end.

Every failure is one of three errors, so each caller maps it onto the exit table the same way:
:class:`NotSentError` (nothing reached the server: safe to retry), :class:`NoAnswerError` (sent,
but no complete answer: an unreachable service) and :class:`AnswerRefusedError` (an answer we
will not use). Messages name the host, never a header or a body.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import http.client
import json
import random
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import unquote, urlsplit

MAX_ANSWER_BYTES = 1 << 20
"""1 MiB: every answer these APIs give is a few kilobytes; more is not an answer we read."""


class HttpError(Exception):
    """A request that did not produce an answer we use; the message names the host only."""


class NotSentError(HttpError):
    """The request never reached the server (name lookup, connect, TLS handshake)."""


class NoAnswerError(HttpError):
    """The request may have reached the server, but no complete answer came back in time."""


class AnswerRefusedError(HttpError):
    """An answer came back that we will not use: a redirect, a body over the bound, or one
    whose content is not what the API documents."""


class RejectedError(HttpError):
    """The service answered and refused the request (a 4xx other than 429)."""

    def __init__(self, message: str, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        """The service's own words, clipped to one line (see :func:`service_words`)."""


class UnavailableError(NoAnswerError):
    """The service kept answering 429 or 5xx until the retry budget was spent."""


def service_words(text: object) -> str:
    """A service's error text as we quote it: one printable line of at most 200 characters."""
    if not isinstance(text, str):
        return ""
    line = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    return line[:200]


def refusal(answer: Answer, host: str, what: str, reason: str) -> HttpError:
    """The error for an answer that is not a success: unavailable for 429/5xx, else rejected."""
    said = f": {reason}" if reason else ""
    message = f"{host} answered HTTP {answer.status} to {what}{said}"
    if answer.status == 429 or answer.status >= 500:
        return UnavailableError(message)
    return RejectedError(message, answer.status, reason)


@dataclass(frozen=True)
class Request:
    method: str
    url: str = field(repr=False)
    """May carry user information: :attr:`host` is what messages name."""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """May carry a credential: never printed."""
    body: bytes | None = field(default=None, repr=False)
    idempotent: bool = True
    """Whether sending it twice changes nothing: only then is a lost answer retried."""

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc.rpartition("@")[2]


@dataclass(frozen=True)
class Answer:
    status: int
    reason: str
    headers: Mapping[str, str]
    """Lower-case names."""
    body: bytes = field(repr=False)

    def json(self) -> object:
        """The body as JSON; :class:`AnswerRefusedError` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise AnswerRefusedError(f"an HTTP {self.status} answer that is not JSON") from None


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff for 429 and 5xx answers (and requests that never left), bounded in total."""

    first_delay: float = 1.0
    max_delay: float = 16.0
    total_seconds: float = 90.0
    request_seconds: float = 30.0
    """The total deadline of one request: connect, send and the whole answer."""


Exchange = Callable[[Request, float, int, bool], Answer]
"""``exchange(request, deadline_seconds, max_answer_bytes, verify_tls)``."""


def exchange(
    request: Request,
    deadline_seconds: float,
    max_answer_bytes: int = MAX_ANSWER_BYTES,
    verify_tls: bool = True,
) -> Answer:
    """Send one request and read its whole answer within ``deadline_seconds``."""
    parts = urlsplit(request.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AnswerRefusedError(f"not an http(s) URL with a host: {parts.scheme}://{parts.netloc}")
    connection = _connection(parts.scheme, parts.hostname, parts.port, deadline_seconds, verify_tls)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = request.host
    expired = threading.Event()
    # The socket, kept here: http.client drops its own reference once an answer says it
    # closes the connection, while the answer still reads from it.
    opened: list[socket.socket] = []

    def shut_down() -> None:
        expired.set()
        for sock in opened:
            # The plain socket's shutdown, also under TLS: a reader blocked in another thread
            # wakes up with an error, and the TLS object is left alone.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    watchdog = threading.Timer(deadline_seconds, shut_down)
    watchdog.daemon = True
    watchdog.start()
    try:
        try:
            connection.connect()
        except (OSError, http.client.HTTPException) as error:
            raise NotSentError(f"could not connect to {host}: {_reason(error)}") from None
        if connection.sock is not None:
            opened.append(connection.sock)
        if expired.is_set():
            # The deadline passed while connecting, before the socket could be shut down.
            raise NoAnswerError(f"{host} gave no complete answer within {deadline_seconds:g} s")
        try:
            connection.request(request.method, target, body=request.body, headers=request.headers)
            response = connection.getresponse()
            headers = {name.lower(): value for name, value in response.getheaders()}
            if 300 <= response.status < 400:
                location = urlsplit(headers.get("location", "")).netloc.rpartition("@")[2]
                raise AnswerRefusedError(
                    f"{host} answered HTTP {response.status}, a redirect"
                    + (f" to {location}" if location else "")
                    + "; redirects are not followed, so credentials never leave for another "
                    "host: use the final URL"
                )
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_answer_bytes:
                raise AnswerRefusedError(
                    f"{host} announced an answer of {declared} bytes; at most "
                    f"{max_answer_bytes} are read"
                )
            body = response.read(max_answer_bytes + 1)
            if len(body) > max_answer_bytes:
                raise AnswerRefusedError(
                    f"{host} sent an answer over {max_answer_bytes} bytes; it was not read"
                )
            # Cut short by the watchdog, a body announced by its length reads back shorter
            # without an error from http.client: a truncated answer is no answer.
            if expired.is_set() or (declared.isdigit() and len(body) < int(declared)):
                raise OSError("the answer ended early")
            return Answer(response.status, response.reason, headers, body)
        except (OSError, http.client.HTTPException) as error:
            if expired.is_set():
                raise NoAnswerError(
                    f"{host} gave no complete answer within {deadline_seconds:g} s"
                ) from None
            raise NoAnswerError(f"{host} gave no complete answer: {_reason(error)}") from None
    finally:
        watchdog.cancel()
        connection.close()


def _reason(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(error, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({error.verify_message})"
    text = str(error) or type(error).__name__
    return text.splitlines()[0][:200]


def _connection(
    scheme: str, hostname: str, port: int | None, timeout: float, verify_tls: bool
) -> http.client.HTTPConnection:
    if scheme == "http":
        return http.client.HTTPConnection(hostname, port, timeout=timeout)
    context = ssl.create_default_context()
    if not verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    proxy = _https_proxy(hostname)
    if proxy is None:
        return http.client.HTTPSConnection(hostname, port, timeout=timeout, context=context)
    proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    connection = http.client.HTTPSConnection(
        proxy_parts.hostname or "", proxy_parts.port or 3128, timeout=timeout, context=context
    )
    tunnel_headers = {}
    if proxy_parts.username is not None:
        login = f"{unquote(proxy_parts.username)}:{unquote(proxy_parts.password or '')}"
        tunnel_headers["Proxy-Authorization"] = "Basic " + base64.b64encode(login.encode()).decode(
            "ascii"
        )
    connection.set_tunnel(hostname, port or 443, headers=tunnel_headers)
    return connection


def _https_proxy(hostname: str) -> str | None:
    proxy = urllib.request.getproxies().get("https")
    if not proxy or urllib.request.proxy_bypass(hostname):
        return None
    return proxy


def retry_after_seconds(answer: Answer, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date, RFC 9110 10.2.3), if given."""
    value = answer.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass
class Client:
    """Sends requests with the policy's deadline and retries, and counts what it sent."""

    policy: RetryPolicy = RetryPolicy()
    verify_tls: bool = True
    max_answer_bytes: int = MAX_ANSWER_BYTES
    send: Exchange = exchange
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    sent: int = 0
    """Requests sent (each retry counts): what a run cost the service."""

    def call(self, request: Request) -> Answer:
        """The first answer that is not 429 or 5xx, or the last one once the budget is spent.

        A request that never left is retried; one whose answer was lost only when it is
        idempotent; a 5xx likewise. 429 is always retried: the server did not act on it.
        """
        deadline = self.clock() + self.policy.total_seconds
        delay = self.policy.first_delay
        last: Answer | None = None
        while True:
            wait: float | None = None
            try:
                self.sent += 1
                answer = self.send(
                    request, self.policy.request_seconds, self.max_answer_bytes, self.verify_tls
                )
            except NotSentError as error:
                failure: HttpError = error
            except NoAnswerError as error:
                if not request.idempotent:
                    raise
                failure = error
            else:
                last = answer
                retryable = answer.status == 429 or (answer.status >= 500 and request.idempotent)
                if not retryable:
                    return answer
                if answer.status == 429:
                    wait = retry_after_seconds(answer)
            if wait is None:
                wait = min(delay, self.policy.max_delay) * random.uniform(0.8, 1.0)  # noqa: S311 - jitter only
                delay *= 2
            if self.clock() + wait >= deadline:
                # Waiting would spend the budget: report the last answer, or why none came.
                if last is not None:
                    return last
                raise failure
            self.sleep(wait)
