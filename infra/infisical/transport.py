"""The Infisical SDK's HTTP under this project's rules (infra/ground/http.py).

infisicalsdk 1.0.17 talks through a ``requests`` session (infisical_requests.py), which follows
redirects, reads bodies of any size and bounds each socket read, not the request. This adapter,
mounted on that session, sends every request through :func:`infra.ground.http.exchange`
instead: no redirect (a 307 after the login would resend the client secret to whatever host it
names), one deadline per request, a bounded body.

The SDK retries what it takes for network errors 4 times (``with_retry``: ``ConnectionError``,
``ReadTimeout`` ...). Only a request that never left is reported as one of those; a request
whose answer was lost is reported as :class:`AnswerLostError`, which the SDK does not retry,
because a login that reached the server may already have spent a use of a limited client secret
(identity-ua-service.ts ``login``: ``incrementUsage`` before the token is returned).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from requests import Response
from requests.adapters import BaseAdapter
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from infra.ground.http import (
    MAX_ANSWER_BYTES,
    AnswerRefusedError,
    Exchange,
    NoAnswerError,
    NotSentError,
    Request,
    exchange,
)


class AnswerLostError(RequestException):
    """Sent, but no complete answer came back: not retried, it may have acted."""


class AnswerUnusableError(RequestException):
    """An answer we will not use (a redirect, an oversized body)."""


class BoundedAdapter(BaseAdapter):  # type: ignore[misc]
    """A ``requests`` transport adapter that sends through :func:`exchange`."""

    def __init__(self, deadline_seconds: float, send: Exchange = exchange) -> None:
        super().__init__()
        self._deadline = deadline_seconds
        self._send = send
        self.sent = 0
        """Requests sent through this adapter, the SDK's own retries included."""

    def send(
        self,
        request: Any,
        stream: bool = False,
        timeout: object = None,
        verify: object = True,
        cert: object = None,
        proxies: Mapping[str, str] | None = None,
    ) -> Response:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        outgoing = Request(request.method, request.url, dict(request.headers), body)
        self.sent += 1
        try:
            answer = self._send(outgoing, self._deadline, MAX_ANSWER_BYTES, verify is not False)
        except NotSentError as error:
            raise RequestsConnectionError(str(error), request=request) from None
        except NoAnswerError as error:
            raise AnswerLostError(str(error), request=request) from None
        except AnswerRefusedError as error:
            raise AnswerUnusableError(str(error), request=request) from None
        response = Response()
        response.status_code = answer.status
        response.reason = answer.reason
        response.headers = CaseInsensitiveDict(answer.headers)
        response._content = answer.body
        response._content_consumed = True
        response.encoding = get_encoding_from_headers(response.headers)
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        """Nothing is pooled: each exchange opens and closes its own connection."""
