"""``post-review``: post a review as a pull-request comment, or update the one posted before."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from infra.cli.arguments import http_url_problem
from infra.cli.command import Command
from infra.cli.exits import Exit
from infra.ground.errors import ConfigError, ConfigIssue, RefusedError, ServiceError, refused
from infra.ground.progress import progress

DESCRIPTION = """\
Post a review (the output of scripts/plan --review, markdown) as a pull-request comment, or
update the comment an earlier run posted: the review's first line is its marker
(<!-- relaymd-infra review: stack NAME -->), and the comment whose body starts with it is
edited in place, so each stack keeps one comment. Works with any forge whose API lists,
creates and edits comments as JSON objects with "id" and "body" (GitHub, Gitea, Forgejo;
GitLab notes with PUT).

  scripts/post-review REVIEW_FILE

Settings, from the environment:
  REVIEW_COMMENTS_URL   list (GET) and create (POST) the pull request's comments
  REVIEW_COMMENT_URL    one comment, with {id} where its id goes (edited with PATCH or PUT)
  REVIEW_UPDATE_METHOD  PATCH (default) or PUT
  REVIEW_TOKEN          sent only as "Authorization: Bearer ..." to the host of the two URLs;
                        never on a command line, in a file or in this command's output

Redirects are not followed (the token never leaves for another host), every request has one
total deadline, and a comment is created only after the whole listing was read."""

MARKER = re.compile(r"<!-- relaymd-infra review: stack [a-z0-9-]+ -->")
MAX_REVIEW_CHARACTERS = 65_536
"""GitHub refuses longer comment bodies; scripts/plan --review keeps to 60,000 by default."""
MAX_ANSWER_BYTES = 8 * 1024 * 1024
MAX_PAGES = 100
REQUEST_SECONDS = 60.0
COMMENT_ID = re.compile(r"[0-9]{1,20}")
TOKEN = re.compile(r"[\x21-\x7e]{1,1024}")
"""Visible ASCII: forges' tokens are; anything else could split or forge a header line."""
_NEXT_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class Forge:
    comments_url: str
    comment_url: str
    update_method: str
    token: str

    def comment(self, comment_id: str) -> str:
        return self.comment_url.replace("{id}", comment_id)


def forge_settings(environment: Mapping[str, str]) -> Forge:
    """The four settings, each checked; raises RefusedError naming the variable and the fix."""
    issues = []
    values = {}
    for name in ("REVIEW_COMMENTS_URL", "REVIEW_COMMENT_URL", "REVIEW_TOKEN"):
        value = environment.get(name, "")
        if not value:
            issues.append(ConfigIssue(name, "unset", "set (see docs/reviewing.md, CI recipe)"))
        values[name] = value
    if issues:
        raise _settings_error(issues)
    for name in ("REVIEW_COMMENTS_URL", "REVIEW_COMMENT_URL"):
        problem = _url_problem(values[name])
        if problem is not None:
            issues.append(ConfigIssue(name, values[name], f"an http(s) URL ({problem})"))
    if "{id}" not in values["REVIEW_COMMENT_URL"]:
        issues.append(
            ConfigIssue("REVIEW_COMMENT_URL", values["REVIEW_COMMENT_URL"], "a URL with {id}")
        )
    if not issues and _origin(values["REVIEW_COMMENTS_URL"]) != _origin(
        values["REVIEW_COMMENT_URL"]
    ):
        issues.append(
            ConfigIssue(
                "REVIEW_COMMENT_URL",
                values["REVIEW_COMMENT_URL"],
                "the same scheme, host and port as REVIEW_COMMENTS_URL: the token goes to one "
                "forge only",
            )
        )
    if not TOKEN.fullmatch(values["REVIEW_TOKEN"]):
        issues.append(
            ConfigIssue(
                "REVIEW_TOKEN", "[secret]", "a token of visible ASCII characters, no spaces"
            )
        )
    method = environment.get("REVIEW_UPDATE_METHOD", "PATCH")
    if method not in ("PATCH", "PUT"):
        issues.append(ConfigIssue("REVIEW_UPDATE_METHOD", method, "PATCH or PUT"))
    if issues:
        raise _settings_error(issues)
    return Forge(
        values["REVIEW_COMMENTS_URL"], values["REVIEW_COMMENT_URL"], method, values["REVIEW_TOKEN"]
    )


def _settings_error(issues: list[ConfigIssue]) -> RefusedError:
    return ConfigError("environment", issues)


def _url_problem(url: str) -> str | None:
    problem = http_url_problem(url)
    if problem is not None:
        return problem
    if "@" in (urlsplit(url).netloc or ""):
        return "credentials in the URL: put the token in REVIEW_TOKEN"
    return None


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_: Any, **__: Any) -> None:
        return None  # the 3xx answer is then raised as an HTTPError, unfollowed


_OPENER = urllib.request.build_opener(_NoRedirects)


@dataclass(frozen=True)
class Answer:
    document: Any
    next_url: str | None


def request(forge: Forge, method: str, url: str, body: object | None = None) -> Answer:
    """One request with the token, one total deadline and a bounded answer, parsed as JSON."""
    data = None if body is None else json.dumps(body).encode("utf-8")
    headers = {"Accept": "application/json", "Authorization": f"Bearer {forge.token}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    # Both URLs were checked to be http(s) (forge_settings), and a next page to stay there.
    prepared = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    deadline = time.monotonic() + REQUEST_SECONDS
    where = f"{method} {url}"
    try:
        with _OPENER.open(prepared, timeout=REQUEST_SECONDS) as response:
            raw = _read_bounded(response, deadline, where)
            link = response.headers.get("Link", "")
    except urllib.error.HTTPError as error:
        raise _http_error(where, error.code) from None
    except (urllib.error.URLError, OSError) as error:
        raise ServiceError(f"{where}: no answer ({_reason(error)})") from None
    try:
        document = json.loads(raw) if raw.strip() else None
    except (ValueError, RecursionError):
        raise refused(where, "answer", f"{len(raw)} bytes", "a JSON document") from None
    return Answer(document, _next_page(url, link))


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", error)
    return type(reason).__name__ if not isinstance(reason, str) else reason


def _read_bounded(response: Any, deadline: float, where: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise ServiceError(f"{where}: no whole answer within {REQUEST_SECONDS:g}s")
        chunk = response.read(65_536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise refused(where, "answer", f"more than {MAX_ANSWER_BYTES} bytes", "a short answer")
        chunks.append(chunk)


def _http_error(where: str, status: int) -> Exception:
    if 300 <= status < 400:
        return refused(
            where,
            "answer",
            f"HTTP {status} (a redirect)",
            "the forge's API URL itself: redirects are not followed, so the token stays there",
        )
    if status in (401, 403):
        return refused(where, "REVIEW_TOKEN", f"HTTP {status}", "a token the forge accepts here")
    if status == 404:
        return refused(where, "URL", "HTTP 404", "the URL of an existing pull request's comments")
    return ServiceError(f"{where}: HTTP {status}")


def _next_page(url: str, link: str) -> str | None:
    found = _NEXT_LINK.search(link)
    if found is None:
        return None
    following = urljoin(url, found.group(1))
    # A next page elsewhere would take the token with it.
    return following if _origin(following) == _origin(url) else None


def earlier_comment(forge: Forge, marker: str) -> str | None:
    """The id of the comment this stack's reviews posted, reading every page first."""
    url: str | None = forge.comments_url
    for _ in range(MAX_PAGES):
        if url is None:
            return None
        answer = request(forge, "GET", url)
        if not isinstance(answer.document, list):
            raise refused(url, "answer", _kind(answer.document), "a JSON list of comments")
        for comment in answer.document:
            if isinstance(comment, dict) and str(comment.get("body", "")).startswith(marker):
                return _comment_id(url, comment.get("id"))
        url = answer.next_url
    raise refused(forge.comments_url, "answer", f"more than {MAX_PAGES} pages", "fewer comments")


def _comment_id(url: str, value: object) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not COMMENT_ID.fullmatch(text):
        raise refused(url, "id", _kind(value), "a numeric comment id")
    return text


def _kind(value: object) -> str:
    return f"a JSON {type(value).__name__}" if value is not None else "nothing"


def read_review(path: Path) -> tuple[str, str]:
    """The review's text and its marker line; refused unless scripts/plan --review wrote it."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_REVIEW_CHARACTERS * 4 + 1)
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise refused(
            str(path), "REVIEW_FILE", type(error).__name__, "a readable UTF-8 file"
        ) from None
    if len(text) > MAX_REVIEW_CHARACTERS:
        raise refused(
            str(path),
            "REVIEW_FILE",
            f"more than {MAX_REVIEW_CHARACTERS} characters",
            "a review within the forge's limit (scripts/plan --review --budget)",
        )
    marker = text.split("\n", 1)[0]
    if not MARKER.fullmatch(marker):
        raise refused(
            str(path),
            "REVIEW_FILE",
            "no review marker on its first line",
            "the output of scripts/plan --review with --format markdown",
        )
    return text, marker


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "review", type=Path, metavar="REVIEW_FILE", help="scripts/plan --review's output"
    )


def run(arguments: argparse.Namespace) -> int:
    body, marker = read_review(arguments.review)
    forge = forge_settings(os.environ)
    progress("Looking for an earlier review comment")
    existing = earlier_comment(forge, marker)
    if existing is not None:
        progress(f"Updating comment {existing}")
        answer = request(forge, forge.update_method, forge.comment(existing), {"body": body})
    else:
        progress("Posting a new comment")
        answer = request(forge, "POST", forge.comments_url, {"body": body})
    if not isinstance(answer.document, dict):
        # The request was sent: say so, and do not try again (that could post twice).
        raise refused(
            "the forge",
            "answer",
            _kind(answer.document),
            "a JSON comment object; check the pull request before running again",
        )
    return Exit.OK


COMMAND = Command(
    name="post-review",
    summary="post or update a review as a pull-request comment",
    description=DESCRIPTION,
    add_arguments=add_arguments,
    run=run,
    meanings={
        Exit.OK: "the comment was posted or updated",
        Exit.FAILED: "not used",
        Exit.REFUSED: "bad review file or setting, or the forge refused or answered oddly",
        Exit.INTERNAL: "the forge could not be reached (or an internal error)",
    },
)
