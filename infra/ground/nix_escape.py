"""Turning Python values into Nix literals that cannot change the meaning of the file.

Every value a template interpolates passes through :func:`nix_value`; its result is a
:class:`NixLiteral`, and the template environment refuses to print anything else.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

# Inside "...": a backslash starts an escape, '"' ends the string and "${" starts an
# interpolation. Escaping every '$' (not only "${") also defuses "$${" edge cases.
_STRING_ESCAPES = {
    "\\": "\\\\",
    '"': '\\"',
    "$": "\\$",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_'-]*")
_KEYWORDS = frozenset({"assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with"})


class NixLiteral(str):
    """Text that is already a complete, escaped Nix expression."""


def nix_string(value: str) -> NixLiteral:
    """A double-quoted Nix string whose value is exactly ``value``."""
    if "\x00" in value:
        raise ValueError("a Nix string cannot hold a NUL character")
    escaped = "".join(_STRING_ESCAPES.get(character, character) for character in value)
    return NixLiteral(f'"{escaped}"')


def nix_attribute_name(name: str) -> NixLiteral:
    """An attribute name: bare when it is a plain identifier, quoted otherwise."""
    is_bare = bool(_IDENTIFIER.fullmatch(name)) and name not in _KEYWORDS
    return NixLiteral(name) if is_bare else nix_string(name)


def nix_value(value: object) -> NixLiteral:
    """Nix literal for a str, bool, int, None, sequence or string-keyed mapping."""
    if isinstance(value, NixLiteral):
        return value
    if isinstance(value, bool):
        return NixLiteral("true" if value else "false")
    if isinstance(value, int):
        # A negative number inside a list would read as a subtraction without parentheses.
        return NixLiteral(str(value) if value >= 0 else f"({value})")
    if value is None:
        return NixLiteral("null")
    if isinstance(value, str):
        return nix_string(value)
    if isinstance(value, Mapping):
        entries = " ".join(
            f"{nix_attribute_name(_key(key))} = {nix_value(item)};"
            for key, item in sorted(value.items())
        )
        return NixLiteral(f"{{ {entries} }}" if entries else "{ }")
    if isinstance(value, Sequence):
        items = " ".join(nix_value(item) for item in value)
        return NixLiteral(f"[ {items} ]" if items else "[ ]")
    raise TypeError(f"no Nix literal for a value of type {type(value).__name__}")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise TypeError(f"Nix attribute names are strings, not {type(key).__name__}")
    return key
