"""Reading untrusted documents with bounds: the stack file (YAML) and decrypted SOPS content.

A stack file or a SOPS file may come from anyone who can open a pull request. Unbounded,
an alias bomb or a deeply nested document costs minutes and memory before any field is
validated, and PyYAML silently lets the last of two duplicate keys win. Every refusal here
is a :class:`ConfigError` (exit 2) naming where in the document the problem is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from infra.ground.errors import ConfigError, dotted_path, refused


@dataclass(frozen=True)
class Bounds:
    max_bytes: int
    max_depth: int = 32
    max_aliases: int = 64
    max_nodes: int = 20_000
    """Nodes after expanding aliases: what a consumer of the data would walk."""


STACK_FILE_BOUNDS = Bounds(max_bytes=256 * 1024)
"""A stack file is a few kilobytes; the example is under 3 KiB."""
SECRETS_BOUNDS = Bounds(max_bytes=1024 * 1024)
"""Decrypted SOPS content (and the encrypted file before sops reads it)."""

_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_TYPES = (str, int, float, bool, type(None))


def read_text(path: Path, *, field: str, bounds: Bounds) -> str:
    """The file's text, refused when larger than ``bounds`` or not UTF-8."""
    with path.open("rb") as handle:
        data = handle.read(bounds.max_bytes + 1)
    return decode_text(data, source=str(path), field=field, bounds=bounds)


def decode_text(data: bytes, *, source: str, field: str, bounds: Bounds) -> str:
    if len(data) > bounds.max_bytes:
        raise refused(
            source,
            field,
            f"more than {bounds.max_bytes} bytes",
            f"a document of at most {bounds.max_bytes} bytes: remove what the stack does "
            "not need (large values belong elsewhere)",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise refused(
            source,
            field,
            f"a byte that is not UTF-8 at offset {error.start}",
            "UTF-8 text: re-save the file as UTF-8",
        ) from None


def load_yaml(text: str, *, source: str, bounds: Bounds) -> object:
    """Parse one YAML document within ``bounds``; duplicate keys and non-JSON values refused."""
    try:
        # The reader refuses non-printable characters already while it is built.
        loader = _BoundedLoader(text, bounds, source)
    except yaml.YAMLError as error:
        raise refused(source, "(document)", str(error)[:200], "printable text") from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_tree(node, bounds, source)
        data = loader.construct_document(node)
    except ConfigError:
        raise
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(document)"
        raise refused(
            source, where, error.problem or "unreadable YAML", "valid YAML at that position"
        ) from None
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
        # The constructor raises ValueError for impossible dates (2024-02-30) and the like.
        raise refused(source, "(document)", str(error)[:200], "valid YAML") from None
    finally:
        loader.dispose()
    _check_plain(data, source)
    return data


def load_json(text: str, *, source: str, field: str, bounds: Bounds) -> object:
    """Parse JSON (what ``sops --decrypt --output-type json`` prints) within ``bounds``.

    ``field`` names the setting that chose the document, for problems of the whole document.
    """
    depth = _json_depth(text)
    if depth > bounds.max_depth:
        raise refused(
            source,
            field,
            f"nesting {depth} levels deep",
            f"at most {bounds.max_depth} levels of nesting",
        )
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_pairs, parse_constant=_no_constants)
    except _DuplicateKeyError as duplicate:
        raise refused(
            source,
            duplicate.key,
            "a key given twice",
            "each key once: the second would silently replace the first",
        ) from None
    except ValueError as error:
        raise refused(source, field, str(error)[:200], "a JSON mapping") from None


class _BoundedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases and nesting while it composes the node graph."""

    def __init__(self, text: str, bounds: Bounds, source: str) -> None:
        super().__init__(text)
        self._bounds = bounds
        self._source = source
        self._depth = 0
        self._aliases = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(AliasEvent):
            self._aliases += 1
            if self._aliases > self._bounds.max_aliases:
                raise self._limit(
                    f"more than {self._bounds.max_aliases} aliases",
                    f"at most {self._bounds.max_aliases} aliases (*name): write values out",
                )
        self._depth += 1
        try:
            if self._depth > self._bounds.max_depth:
                raise self._limit(
                    f"nesting deeper than {self._bounds.max_depth} levels",
                    f"at most {self._bounds.max_depth} levels of nesting",
                )
            return super().compose_node(parent, index)  # type: ignore[no-any-return]
        finally:
            self._depth -= 1

    def construct_plain_text(self, node: Node) -> str:
        return str(self.construct_scalar(node))  # type: ignore[arg-type]

    def _limit(self, got: str, expected: str) -> ConfigError:
        mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
        return refused(self._source, f"line {mark.line + 1}", got, expected)


# No setting holds a date: date-like values stay text, and an impossible one (2024-02-30)
# reaches the field checks instead of failing inside the YAML constructor.
_BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", _BoundedLoader.construct_plain_text)


def _check_tree(root: Node, bounds: Bounds, source: str) -> None:
    """Expanded size (aliases counted each time they are used) and duplicate keys."""
    sizes: dict[int, int] = {}
    for node, path in _post_order(root, source):
        children = _children(node)
        sizes[id(node)] = 1 + sum(sizes[id(child)] for child in children)
        if sizes[id(node)] > bounds.max_nodes:
            raise refused(
                source,
                dotted_path(path),
                f"more than {bounds.max_nodes} values once aliases are expanded",
                f"at most {bounds.max_nodes} values: an alias used many times multiplies them",
            )
        if isinstance(node, MappingNode):
            _check_duplicate_keys(node, path, source)


def _post_order(root: Node, source: str) -> Iterator[tuple[Node, list[str | int]]]:
    """Each distinct node once, children before parents; a node inside itself is refused."""
    done: set[int] = set()
    open_nodes: set[int] = set()
    stack: list[tuple[Node, list[str | int], bool]] = [(root, [], False)]
    while stack:
        node, path, expanded = stack.pop()
        if expanded:
            open_nodes.discard(id(node))
            done.add(id(node))
            yield node, path
            continue
        if id(node) in done:
            continue
        if id(node) in open_nodes:
            raise refused(
                source,
                dotted_path(path),
                "an alias to a node that contains it",
                "a document without recursive aliases",
            )
        open_nodes.add(id(node))
        stack.append((node, path, True))
        for label, child in reversed(_labelled_children(node)):
            if id(child) in open_nodes:
                raise refused(
                    source,
                    dotted_path([*path, label]),
                    "an alias to a node that contains it",
                    "a document without recursive aliases",
                )
            stack.append((child, [*path, label], False))


def _labelled_children(node: Node) -> list[tuple[str | int, Node]]:
    if isinstance(node, SequenceNode):
        return list(enumerate(node.value))
    if isinstance(node, MappingNode):
        labelled: list[tuple[str | int, Node]] = []
        for key, value in node.value:
            label = key.value if isinstance(key, ScalarNode) else "(key)"
            labelled += [(label, key), (label, value)]
        return labelled
    return []


def _children(node: Node) -> list[Node]:
    return [child for _, child in _labelled_children(node)]


def _check_duplicate_keys(node: MappingNode, path: list[str | int], source: str) -> None:
    seen: set[tuple[str, str]] = set()
    for key, _ in node.value:
        if not isinstance(key, ScalarNode) or key.tag == _MERGE_TAG:
            continue
        identity = (key.tag, key.value)
        if identity in seen:
            raise refused(
                source,
                dotted_path([*path, key.value]),
                f"the key given twice (again on line {key.start_mark.line + 1})",
                "each key once: the second would silently replace the first",
            )
        seen.add(identity)


def _check_plain(data: object, source: str) -> None:
    """Only JSON's kinds of value: YAML dates, bytes or sets would surprise every consumer."""
    stack: list[tuple[object, list[str | int]]] = [(data, [])]
    seen: set[int] = set()
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict | list):
            if id(value) in seen:
                continue  # a shared (aliased) value, already checked
            seen.add(id(value))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if not isinstance(key, str | int):
                    raise refused(
                        source, dotted_path(path), "a key that is not text", "text keys only"
                    )
                stack.append((item, [*path, key]))
        elif not isinstance(value, _PLAIN_TYPES):
            raise refused(
                source,
                dotted_path(path),
                f"a YAML {type(value).__name__}",
                "text, a number, true/false, a list or a mapping (quote dates and the like)",
            )


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key)
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_JSON_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _json_depth(text: str) -> int:
    """Deepest nesting of arrays/objects, ignoring brackets inside strings; linear time."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest
