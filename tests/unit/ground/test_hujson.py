"""HuJSON rendering is deterministic, commented, and reads back as the same data."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infra.ground import hujson
from infra.ground.hujson import Commented

scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
documents = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
        | st.builds(Commented, children, st.text(max_size=20))
    ),
    max_leaves=20,
)


def test_renders_comments_above_members_and_trailing_commas() -> None:
    text = hujson.render(
        {"acls": [Commented({"src": ["tag:a"]}, "why this rule")]}, header=("top",)
    )
    assert text == (
        '// top\n{\n  "acls": [\n    // why this rule\n    {\n      "src": ["tag:a"],\n'
        "    },\n  ],\n}\n"
    )


def test_long_scalar_lists_go_one_item_per_line() -> None:
    text = hujson.render({"deny": [f"tag:relaymd-worker:{port}" for port in range(10)]})
    assert '    "tag:relaymd-worker:0",\n' in text


def test_parse_ignores_comment_markers_inside_strings() -> None:
    text = '{"a": "http://x//y", /* block */ "b": ["c,", "d",], // end\n}'
    assert hujson.parse(text) == {"a": "http://x//y", "b": ["c,", "d"]}


def test_parse_rejects_an_unterminated_block_comment() -> None:
    with pytest.raises(ValueError, match="unterminated"):
        hujson.parse('{"a": 1 /* oops')


# No deadline: a loaded machine is not a clock, and speed is never a test's business.
@settings(deadline=None)
@given(st.dictionaries(st.text(max_size=8), documents, max_size=5))
def test_rendered_text_reads_back_as_the_plain_document(document: dict[str, Any]) -> None:
    text = hujson.render(document, header=("a header", ""))
    assert hujson.parse(text) == hujson.plain(document)
    assert hujson.render(document, header=("a header", "")) == text
