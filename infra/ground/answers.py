"""Reading an API's JSON answer field by field: each value typed before use, or refused.

Errors name the field and the kind of value found, never the value: an answer can quote
what it was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from infra.ground.http import AnswerRefusedError

GO_ZERO_TIME = "0001-01-01T00:00:00Z"
"""Go's zero ``time.Time``, which an unset time field of a Go API marshals as."""


def kind_of(value: object) -> str:
    """How an error names a JSON value's type, never the value itself."""
    if value is None:
        return "null"
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


def json_object(value: object, what: str) -> dict[str, Any]:
    """``value`` as a JSON object, or :class:`AnswerRefusedError` naming ``what``."""
    if not isinstance(value, dict):
        raise AnswerRefusedError(f"{what}: expected a JSON object, got {kind_of(value)}")
    return value


@dataclass(frozen=True)
class Fields:
    """Typed reads of one JSON object; ``where`` names it in every refusal."""

    document: Mapping[str, Any]
    where: str

    def refuse(self, name: str, expected: str, value: object) -> AnswerRefusedError:
        return AnswerRefusedError(
            f"{self.where}: '{name}' is {kind_of(value)}, expected {expected}"
        )

    def text(self, name: str, default: str | None = None) -> str:
        value = self.document.get(name, default)
        if not isinstance(value, str):
            raise self.refuse(name, "a string", value)
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.document.get(name, default)
        if not isinstance(value, bool):
            raise self.refuse(name, "true or false", value)
        return value

    def whole(self, name: str, default: int | None = None, *, minimum: int = 0) -> int:
        """A whole number (never a boolean, never a fraction) of at least ``minimum``."""
        value = self.document.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.refuse(name, f"a whole number of at least {minimum}", value)
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.document.get(name) or []
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.refuse(name, "a list of strings", value)
        return tuple(value)

    def time(self, name: str) -> datetime | None:
        """An RFC 3339 / ISO 8601 time with its offset, in UTC; absent, empty or Go's zero
        time is None."""
        value = self.document.get(name)
        if value is None or value in ("", GO_ZERO_TIME):
            return None
        if not isinstance(value, str):
            raise self.refuse(name, "an RFC 3339 time", value)
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.refuse(name, "an RFC 3339 time", value) from None
        if parsed.tzinfo is None:
            raise self.refuse(name, "an RFC 3339 time with its offset", value)
        return parsed.astimezone(UTC)

    def required_time(self, name: str) -> datetime:
        moment = self.time(name)
        if moment is None:
            raise self.refuse(name, "an RFC 3339 time", self.document.get(name))
        return moment

    def object(self, *path: str) -> Mapping[str, Any]:
        """The object at ``path`` (each step an object); absent or null is empty."""
        node: object = self.document
        for name in path:
            node = node.get(name) if isinstance(node, dict) else None
            if node is None:
                return {}
            if not isinstance(node, dict):
                raise self.refuse(".".join(path), "an object", node)
        return node if isinstance(node, dict) else {}
