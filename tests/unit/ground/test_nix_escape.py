"""The Nix string filter: exact output for hostile characters, refusal where Nix cannot."""

from __future__ import annotations

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


def test_nul_is_refused_rather_than_truncated() -> None:
    with pytest.raises(ValueError, match="NUL"):
        nix_string("a\x00b")


def test_values_of_every_kind_become_literals() -> None:
    assert nix_value(True) == "true"
    assert nix_value(None) == "null"
    assert nix_value(36158) == "36158"
    assert nix_value(-1) == "(-1)"
    assert nix_value(["a", 1]) == '[ "a" 1 ]'
    assert nix_value({"b": [], "a": {}}) == "{ a = { }; b = [ ]; }"
    assert isinstance(nix_value("x"), NixLiteral)


@pytest.mark.parametrize(
    ("name", "literal"),
    [("enable", "enable"), ("if", '"if"'), ("10-lan", '"10-lan"'), ("a b", '"a b"')],
)
def test_attribute_names_are_quoted_unless_plain_identifiers(name: str, literal: str) -> None:
    assert nix_attribute_name(name) == literal


def test_unknown_types_are_refused() -> None:
    with pytest.raises(TypeError):
        nix_value(1.5)
