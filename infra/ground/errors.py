"""The errors every command turns into one exit status (infra/cli/exits.py).

:class:`RefusedError` is input we will not act on: a bad argument, file, environment variable or
server answer, named with the fix (exit 2, nothing written). :class:`ServiceError` is a service
that could not be asked (exit 3, not a bug). Anything else that escapes is a bug of ours.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from infra.ground.contract import SECRET_MASK
from infra.ground.fields import CONTROL_CHARACTERS

SHOWN_CHARACTERS = 200
"""How much of a value or key an error quotes: enough to recognise it, never a whole document."""
_UNPRINTABLE = re.compile(f"[{CONTROL_CHARACTERS}]")


@dataclass(frozen=True)
class ConfigIssue:
    path: str
    """Dotted path of the field, e.g. ``relays[0].vlan``."""
    value: object
    expected: str

    def render(self) -> str:
        # Keys come from the documents too: escaped, a key holding a newline cannot forge
        # a line of its own in the message.
        path = _clipped(_UNPRINTABLE.sub(_escaped, self.path))
        return f"{path}: got {_clipped(_show(self.value))}; expected {self.expected}"


def _escaped(found: re.Match[str]) -> str:
    return json.dumps(found.group())[1:-1]


def _clipped(text: str) -> str:
    if len(text) <= SHOWN_CHARACTERS:
        return text
    return f"{text[:SHOWN_CHARACTERS]}... ({len(text) - SHOWN_CHARACTERS} more characters)"


class _Missing:
    def __repr__(self) -> str:
        return "nothing (the field is missing)"


MISSING = _Missing()


class RefusedError(Exception):
    """Input a command will not act on; its message names what was refused and the fix."""


class ServiceError(Exception):
    """A service (Infisical, the Pulumi CLI, a network) could not answer: nothing was judged."""


class InternalError(Exception):
    """A consistency check of our own failed: a bug. Its message names code, never input."""


class ConfigError(RefusedError):
    """Raised before any resource is declared; the front door turns it into exit status 2."""

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        self.source = source
        self.issues = tuple(issues)
        lines = [f"invalid input ({source}):"]
        lines += [f"  - {issue.render()}" for issue in self.issues]
        super().__init__("\n".join(lines))


def refused(source: str, field: str, value: object, expected: str) -> ConfigError:
    """A :class:`ConfigError` of one issue: ``field`` in ``source`` got ``value``."""
    return ConfigError(source, [ConfigIssue(field, value, expected)])


def _show(value: object) -> str:
    if value is MISSING:
        return repr(value)
    if value == SECRET_MASK:
        return SECRET_MASK
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def dotted_path(location: Iterable[str | int], prefix: str = "") -> str:
    path = prefix
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(top level)"


def issues_from_validation(
    error: ValidationError, *, prefix: str = "", secret: bool = False
) -> list[ConfigIssue]:
    """Translate pydantic's errors; with ``secret`` the offending value is never shown."""
    issues = []
    for detail in error.errors(include_url=False):
        location = [part for part in detail["loc"] if not _is_union_branch(part)]
        if detail["type"] == "missing":
            value: object = MISSING
            expected = "a value (this field is required)"
        else:
            value = SECRET_MASK if secret else detail.get("input")
            expected = _expected_from_message(detail["msg"])
        issues.append(ConfigIssue(dotted_path(location, prefix), value, expected))
    return issues


def _is_union_branch(part: str | int) -> bool:
    # pydantic names the branch of an Optional[...] it tried ("int", "str", ...).
    return isinstance(part, str) and (
        part.startswith(("function-", "constrained-"))
        or part in {"int", "str", "bool", "list", "none"}
    )


def _expected_from_message(message: str) -> str:
    lowered = message[0].lower() + message[1:] if message else message
    if lowered.startswith("input should be "):
        return lowered.removeprefix("input should be ")
    if lowered == "extra inputs are not permitted":
        return "no such field (check the spelling against docs/configuration.md)"
    return lowered
