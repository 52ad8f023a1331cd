"""Resource inputs as flat ``path = value`` leaves, and how a value shows in a review.

Values come from plan.json, where secrets are already ``[secret]``; a review shows them
as they are and never looks inside an encoded blob.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from infra.ground.contract import KNOWN_AFTER_APPLY, SECRET_MASK


class _Absent:
    """An input one side does not set (as opposed to an explicit null)."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT: Any = _Absent()
MAX_INLINE = 80
"""Longer values show as a size and a digest, so one blob cannot fill the comment."""


def leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"clone": {"vmId": 116}}`` → ``{"clone.vmId": 116}``; list items as ``[i]``.

    Scalar lists stay whole (``tags = [a, b]``) so a reordering reads as one change.
    """
    if isinstance(value, Mapping):
        flat: dict[str, Any] = {}
        for key, item in value.items():
            flat.update(leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return flat if flat or not prefix else {prefix: {}}
    if isinstance(value, list) and any(isinstance(item, Mapping | list) for item in value):
        flat = {}
        for index, item in enumerate(value):
            flat.update(leaves(item, f"{prefix}[{index}]"))
        return flat
    return {prefix: value}


def is_text(value: Any) -> bool:
    """A multi-line string: scripts, policies, configuration files."""
    return isinstance(value, str) and "\n" in value


def digest(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def shown(value: Any) -> str:
    """One short, deterministic rendering of a value for an ``old → new`` line."""
    if value is ABSENT:
        return repr(ABSENT)
    if isinstance(value, str):
        if value in (SECRET_MASK, KNOWN_AFTER_APPLY):
            return value
        if is_text(value):
            return f"<text, {value.count(chr(10)) + 1} lines, sha256 {digest(value)}>"
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    if len(text) > MAX_INLINE:
        return f"<{len(text)} characters, sha256 {digest(value)}>"
    return text


def natural(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts relay-2 before relay-10; total, so orders stay deterministic."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", text)
    )


def joined(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
