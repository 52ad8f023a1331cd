"""The filter's literals, read back by the real Nix evaluator, equal the input exactly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.ground.nix_escape import nix_value
from tests.support.nixeval import evaluate_json

pytestmark = pytest.mark.nix

HOSTILE = [
    '"',
    '${builtins.abort "boom"}',
    "$${x}",
    "\\${x}",
    "\\",
    "''",
    "''${x}",
    "a\nb\r\nc\td",
    "#not a comment",
    "/* not a comment */",
    "} // { services.openssh.enable = false; } // {",
    "é ☃ \U0001f600",
]

text_without_nul = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(HOSTILE, id="hostile strings"),
        pytest.param({"if": [1, -2, True, None], "a b": {"${x}": "\\"}}, id="nested values"),
    ],
)
def test_values_round_trip(value: object) -> None:
    assert evaluate_json(nix_value(value)) == value


@settings(max_examples=15, deadline=None)
@given(st.lists(text_without_nul, min_size=1, max_size=20))
def test_any_text_round_trips(values: list[str]) -> None:
    assert evaluate_json(nix_value(values)) == values
