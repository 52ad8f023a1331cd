"""Markdown or plain text: the few constructs a review needs, in either format."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

_BACKTICKS = re.compile(r"`+")


class Format(StrEnum):
    MARKDOWN = "markdown"
    TEXT = "text"


@dataclass(frozen=True)
class Style:
    format: Format

    @property
    def markdown(self) -> bool:
        return self.format is Format.MARKDOWN

    def code(self, text: str) -> str:
        if not self.markdown:
            return text
        ticks = "`" * (max((len(run) for run in _BACKTICKS.findall(text)), default=0) + 1)
        padding = " " if text.startswith("`") or text.endswith("`") else ""
        return f"{ticks}{padding}{text}{padding}{ticks}"

    def bold(self, text: str) -> str:
        return f"**{text}**" if self.markdown else text

    def item(self, text: str, depth: int = 0) -> str:
        return f"{'  ' * depth}- {text}"

    def block(self, lines: Sequence[str], language: str = "") -> list[str]:
        """Verbatim lines: a fence longer than any backtick run inside, or an indent."""
        if not self.markdown:
            return [f"    {line}".rstrip() for line in lines]
        longest = max((len(run) for line in lines for run in _BACKTICKS.findall(line)), default=0)
        fence = "`" * max(3, longest + 1)
        return [f"{fence}{language}", *lines, fence]

    def warning(self, text: str) -> str:
        return f"**WARNING:** {text}" if self.markdown else f"WARNING: {text}"
