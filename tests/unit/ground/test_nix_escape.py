"""The Nix string filter: exact output for hostile characters, refusal where Nix cannot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.ground.nix_escape import NixLiteral, nix_attribute_name, nix_string, nix_value


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("plain", '"plain"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("${builtins.abort 1}", '"\\${builtins.abort 1}"'),
        ("$${x}", '"\\$\\${x}"'),
        ("back\\slash", '"back\\\\slash"'),
        ("two\nlines\r\tend", '"two\\nlines\\r\\tend"'),
        ("''", "\"''\""),
    ],
)
def test_strings_escape_every_active_character(value: str, literal: str) -> None:
    assert nix_string(value) == literal


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        pytest.param(True, "true", id="boolean"),
        pytest.param(None, "null", id="null"),
        pytest.param(36158, "36158", id="integer"),
        pytest.param(-1, "(-1)", id="negative integer"),
        pytest.param(["a", 1], '[ "a" 1 ]', id="list"),
        pytest.param({"b": [], "a": {}}, "{ a = { }; b = [ ]; }", id="attribute set, sorted"),
        pytest.param("x", '"x"', id="string"),
    ],
)
def test_values_of_every_kind_become_literals(value: object, literal: str) -> None:
    assert nix_value(value) == literal
    assert isinstance(nix_value(value), NixLiteral)


@pytest.mark.parametrize(
    ("name", "literal"),
    [("enable", "enable"), ("if", '"if"'), ("10-lan", '"10-lan"'), ("a b", '"a b"')],
)
def test_attribute_names_are_quoted_unless_plain_identifiers(name: str, literal: str) -> None:
    assert nix_attribute_name(name) == literal


@pytest.mark.parametrize(
    ("convert", "value", "error", "named"),
    [
        pytest.param(nix_string, "a\x00b", ValueError, "NUL", id="NUL, rather than truncated"),
        pytest.param(nix_value, 1.5, TypeError, "float", id="a type with no Nix literal"),
    ],
)
def test_what_nix_cannot_hold_is_refused(
    convert: Callable[[Any], str], value: object, error: type[Exception], named: str
) -> None:
    with pytest.raises(error, match=named):
        convert(value)
