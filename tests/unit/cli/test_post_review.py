"""scripts/post-review against a fake forge on loopback: post once, then update in place."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from infra.ground.project import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "post-review"
TOKEN = "CANARY-forge-token-4c1d"
MARKER = "<!-- relaymd-infra review: stack example -->"

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


class Forge:
    """Issue comments as GitHub's REST API serves them (docs.github.com/en/rest/issues/comments:
    list and create on ``/repos/{owner}/{repo}/issues/{number}/comments``, edit with PATCH on
    ``/repos/{owner}/{repo}/issues/comments/{id}``; objects with ``id`` and ``body``).
    Gitea and Forgejo serve the same paths; GitLab's notes API differs only in paths and PUT.
    """

    def __init__(self) -> None:
        self.comments: list[dict[str, Any]] = [{"id": 7, "body": "LGTM"}]
        self.requests: list[tuple[str, str, str | None]] = []


def _handler(forge: Forge) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _reply(self, status: int, document: object) -> None:
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length", 0))
            body: dict[str, Any] = json.loads(self.rfile.read(length))
            return body

        def _record(self) -> None:
            forge.requests.append((self.command, self.path, self.headers.get("Authorization")))

        def do_GET(self) -> None:
            self._record()
            self._reply(200, forge.comments)

        def do_POST(self) -> None:
            self._record()
            comment = {"id": 100 + len(forge.comments), "body": self._body()["body"]}
            forge.comments.append(comment)
            self._reply(201, comment)

        def do_PATCH(self) -> None:
            self._record()
            wanted = int(self.path.rsplit("/", 1)[-1])
            comment = next(c for c in forge.comments if c["id"] == wanted)
            comment["body"] = self._body()["body"]
            self._reply(200, comment)

        def log_message(self, *_: object) -> None:
            pass

    return Handler


@pytest.fixture
def forge() -> Iterator[tuple[Forge, str]]:
    state = Forge()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _post(review: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "REVIEW_COMMENTS_URL": f"{url}/repos/o/r/issues/5/comments",
        "REVIEW_COMMENT_URL": f"{url}/repos/o/r/issues/comments/{{id}}",
        "REVIEW_TOKEN": TOKEN,
    }
    return subprocess.run(
        [str(SCRIPT), str(review)], env=env, capture_output=True, text=True, timeout=60
    )


def test_posts_then_updates_its_own_comment(forge: tuple[Forge, str], tmp_path: Path) -> None:
    state, url = forge
    review = tmp_path / "review.md"
    review.write_text(f"{MARKER}\n\nfirst\n")
    first = _post(review, url)
    assert first.returncode == 0, first.stderr
    review.write_text(f"{MARKER}\n\nsecond\n")
    second = _post(review, url)
    assert second.returncode == 0, second.stderr
    assert [c["body"] for c in state.comments] == ["LGTM", f"{MARKER}\n\nsecond\n"]
    methods = [(method, path) for method, path, _ in state.requests]
    assert methods == [
        ("GET", "/repos/o/r/issues/5/comments"),
        ("POST", "/repos/o/r/issues/5/comments"),
        ("GET", "/repos/o/r/issues/5/comments"),
        ("PATCH", "/repos/o/r/issues/comments/101"),
    ]
    assert {auth for _, _, auth in state.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr


def test_refuses_a_file_without_marker(forge: tuple[Forge, str], tmp_path: Path) -> None:
    review = tmp_path / "review.txt"
    review.write_text("Stack example vs base: ...\n")
    result = _post(review, forge[1])
    assert result.returncode == 2
    assert "--format markdown" in result.stderr
    assert forge[0].requests == []


def test_missing_settings_exit_2(tmp_path: Path) -> None:
    review = tmp_path / "review.md"
    review.write_text(f"{MARKER}\n")
    result = subprocess.run(
        [str(SCRIPT), str(review)],
        env={"PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert 'REVIEW_COMMENTS_URL: got "unset"; expected set' in result.stderr
