"""What the HTTP contract fakes share: a loopback server, and failures injected on demand.

A fake is a function from a request to a :class:`Reply`; :func:`serve` puts it on 127.0.0.1 at
a free port. :class:`Failures` makes the next matching requests fail the ways a real service
does besides its documented errors: a status of the test's choosing, a body that is not what
the API documents, an answer that comes late or one byte at a time.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int
    body: bytes = b""
    reason: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds before the status line."""
    drip: float = 0.0
    """Seconds between body bytes: an answer that trickles in."""


def json_reply(status: int, document: object, **headers: str) -> Reply:
    return Reply(
        status,
        json.dumps(document).encode(),
        headers={"Content-Type": "application/json; charset=utf-8", **headers},
    )


@dataclass(frozen=True)
class Incoming:
    method: str
    target: str
    """Path and query, as sent."""
    headers: dict[str, str]
    """Lower-case names."""
    body: bytes


Handle = Callable[[Incoming], Reply]


@dataclass
class _Failure:
    method: str
    path: re.Pattern[str]
    remaining: int
    reply: Reply | None
    """Answer this instead; None: answer normally, only ``delay`` later."""
    delay: float


@dataclass
class Failures:
    """The next ``times`` requests matching ``method`` and ``path_regex`` fail."""

    _pending: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, method: str, path_regex: str, reply: Reply, *, times: int = 1) -> None:
        with self._lock:
            self._pending.append(_Failure(method, re.compile(path_regex), times, reply, 0.0))

    def delay(self, method: str, path_regex: str, seconds: float, *, times: int = 1) -> None:
        """Answer normally, ``seconds`` late."""
        with self._lock:
            self._pending.append(_Failure(method, re.compile(path_regex), times, None, seconds))

    def take(self, method: str, path: str) -> tuple[Reply | None, float]:
        with self._lock:
            for failure in self._pending:
                if failure.remaining and failure.method == method and failure.path.search(path):
                    failure.remaining -= 1
                    return failure.reply, failure.delay
        return None, 0.0


class _Handler(BaseHTTPRequestHandler):
    handle_request: Handle
    protocol_version = "HTTP/1.1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.lower(): value for key, value in self.headers.items()}
        reply = type(self).handle_request(Incoming(self.command, self.path, headers, body))
        if reply.delay:
            time.sleep(reply.delay)
        self.send_response(reply.status, reply.reason)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            if reply.drip:
                for index in range(len(reply.body)):
                    self.wfile.write(reply.body[index : index + 1])
                    self.wfile.flush()
                    time.sleep(reply.drip)
            else:
                self.wfile.write(reply.body)
        except OSError:
            pass  # the client gave up (its deadline): nothing to tell it
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: request lines would clutter test output."""


@contextmanager
def serve(handle: Handle) -> Iterator[str]:
    """Run ``handle`` on 127.0.0.1 at a free port; yields the base URL."""
    handler = type("FakeHandler", (_Handler,), {"handle_request": staticmethod(handle)})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
