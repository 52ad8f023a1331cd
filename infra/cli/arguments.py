"""Command-line values every script shares, checked before any path is built from them."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from urllib.parse import urlsplit

from infra.ground.fields import DNS_LABEL
from infra.ground.project import PROJECT_ROOT


def stack_name(value: str) -> str:
    """``--stack``: the name becomes part of file paths (Pulumi.<stack>.yaml, build/<stack>)."""
    # StackConfig.stack is a DnsLabel: a name passing here also passes there.
    if not DNS_LABEL.fullmatch(value):
        raise argparse.ArgumentTypeError(
            f"got {value!r}; expected a stack name of a-z, 0-9 and '-' (e.g. prod)"
        )
    return value


def add_stack_arguments(parser: argparse.ArgumentParser, *, project_dir_holds: str) -> None:
    """``--stack`` and ``--project-dir``: which stack file to read, and from where."""
    parser.add_argument(
        "--stack", default="example", type=stack_name, help="stack name (default: example)"
    )
    parser.add_argument(
        "--project-dir",
        type=Path,
        default=PROJECT_ROOT,
        help=f"directory holding {project_dir_holds} (default: this checkout)",
    )


# Whitespace and control characters: the HTTP client refuses them (http.client.InvalidURL)
# or, worse, sends a request line of the attacker's choosing.
_UNSAFE_URL_CHARACTER = re.compile(r"[\x00-\x20\x7f-\x9f]")


def http_url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) URL with a host, or None when it is one."""
    if _UNSAFE_URL_CHARACTER.search(value):
        return "contains whitespace or a control character"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as error:
        return str(error)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an http(s) URL with a host"
    return None


def http_url(value: str) -> str:
    """An argparse type for an http(s) URL (``--site-url``)."""
    problem = http_url_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(
            f"got {value!r} ({problem}); expected an http(s) URL, e.g. https://app.infisical.com"
        )
    return value
