"""Deterministic HuJSON: JSON with ``//`` comments and trailing commas.

Rendering keeps the key order the caller chose (the policy reads top-down like a
document) and attaches a short comment to any value wrapped in :class:`Commented`.
Parsing strips comments and trailing commas and hands the rest to :mod:`json`,
so a rendered policy can be read back and compared with the data it came from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

INDENT = "  "
INLINE_LIMIT = 72
"""Scalar lists longer than this (rendered) go one item per line, for readable diffs."""


@dataclass(frozen=True)
class Commented:
    """A value with a comment rendered on the line(s) above it."""

    value: Any
    comment: str


def plain(document: Any) -> Any:
    """The document without its comments: what a JSON reader of the rendered text sees."""
    if isinstance(document, Commented):
        return plain(document.value)
    if isinstance(document, Mapping):
        return {str(key): plain(value) for key, value in document.items()}
    if isinstance(document, list | tuple):
        return [plain(item) for item in document]
    return document


def render(document: Any, *, header: Sequence[str] = ()) -> str:
    lines = [f"// {line}".rstrip() for line in header]
    lines.append(_render_value(document, 0))
    return "\n".join(lines) + "\n"


def _scalar(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float | str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot render {type(value).__name__} as HuJSON")


def _inline(value: Any) -> str | None:
    # Short lists of plain scalars read best on one line: ["tag:a", "tag:b"].
    if not isinstance(value, list | tuple) or any(
        isinstance(item, Mapping | list | tuple | Commented) for item in value
    ):
        return None
    text = "[" + ", ".join(_scalar(item) for item in value) + "]"
    return text if len(text) <= INLINE_LIMIT else None


def _comment_lines(comment: str, depth: int) -> list[str]:
    return [f"{INDENT * depth}// {line}".rstrip() for line in comment.splitlines() or [""]]


def _render_value(value: Any, depth: int) -> str:
    if isinstance(value, Commented):
        raise TypeError("a comment belongs to an object member or a list item")
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        body = []
        for key, item in value.items():
            body += _member(json.dumps(str(key), ensure_ascii=False) + ": ", item, depth + 1)
        return "{\n" + "\n".join(body) + "\n" + INDENT * depth + "}"
    if isinstance(value, list | tuple):
        inline = _inline(value)
        if inline is not None:
            return inline
        body = []
        for item in value:
            body += _member("", item, depth + 1)
        return "[\n" + "\n".join(body) + "\n" + INDENT * depth + "]"
    return _scalar(value)


def _member(prefix: str, item: Any, depth: int) -> list[str]:
    lines = []
    while isinstance(item, Commented):
        lines += _comment_lines(item.comment, depth)
        item = item.value
    lines.append(f"{INDENT * depth}{prefix}{_render_value(item, depth)},")
    return lines


def parse(text: str) -> Any:
    """Parse HuJSON text (``//`` and ``/* */`` comments, trailing commas)."""
    return json.loads(_to_json(text))


def _to_json(text: str) -> str:
    """Drop comments and trailing commas in one pass; string literals pass untouched."""
    out: list[str] = []
    pending_comma: list[str] = []  # a comma and the blanks after it, held back
    index = 0
    while index < len(text):
        token, index = _next_token(text, index)
        if pending_comma and token.isspace():
            pending_comma.append(token)
        elif token == ",":
            out += pending_comma
            pending_comma = [token]
        else:
            if pending_comma:
                # Drop the comma only when it closes a container.
                out += pending_comma[1:] if token in ("]", "}") else pending_comma
                pending_comma = []
            out.append(token)
    out += pending_comma
    return "".join(out)


def _next_token(text: str, index: int) -> tuple[str, int]:
    """One string literal, one comment (as a blank), or one character; and where the next starts."""
    if text[index] == '"':
        end = index + 1
        while end < len(text) and text[end] != '"':
            end += 2 if text[end] == "\\" else 1
        return text[index : end + 1], end + 1
    if text.startswith("//", index):
        end = text.find("\n", index)
        return " ", len(text) if end < 0 else end
    if text.startswith("/*", index):
        end = text.find("*/", index + 2)
        if end < 0:
            raise ValueError("unterminated /* comment in HuJSON")
        return " ", end + 2
    return text[index], index + 1
