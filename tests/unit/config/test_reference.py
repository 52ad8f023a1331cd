"""The configuration reference: generated from the models, committed, and never stale."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from infra.cli.config_reference import REFERENCE_PATH, SCRIPT
from infra.config import reference
from infra.config.reference import attribute_docstrings, configuration_reference
from infra.config.secrets import StackSecrets
from infra.config.settings import CONFIG_KEYS, KeyLifetimes, StackConfig
from infra.ground.catalog import secret_catalog
from infra.ground.errors import InternalError
from infra.ground.project import PROJECT_ROOT
from infra.ground.python_source import collector_paused
from infra.ground.relaymd import StorageProvider
from tests.support.stacks import example_secrets_document

COMMITTED = PROJECT_ROOT / REFERENCE_PATH
ROW = re.compile(r"^\| `(?P<key>[^`]+)` \|(?P<cells>.*)\|$")


def _page() -> str:
    return configuration_reference(SCRIPT)


def _models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """``model`` and every model its fields hold (in lists, mappings and unions too)."""
    yield model
    for field in model.model_fields.values():
        yield from _nested(field.annotation)


def _nested(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield from _models(annotation)
    for argument in getattr(annotation, "__args__", ()):
        yield from _nested(argument)


def test_the_committed_reference_is_what_the_models_generate() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == _page(), (
        f"{REFERENCE_PATH} is stale: run {SCRIPT} and commit the result"
    )


def test_a_changed_default_makes_the_committed_reference_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The control of the test above: a model change shows in the page."""
    original = KeyLifetimes.model_fields["host_key_expiry_days"]
    changed = FieldInfo.merge_field_infos(original, default=8)
    monkeypatch.setitem(KeyLifetimes.model_fields, "host_key_expiry_days", changed)
    page = _page()
    assert page != COMMITTED.read_text(encoding="utf-8")
    assert "| `host_key_expiry_days` | integer | `8` |" in page


def test_a_changed_docstring_makes_the_committed_reference_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = reference.attribute_docstrings

    def edited(model: type) -> dict[str, str]:
        docs = real(model)
        if model is KeyLifetimes:
            docs["worker_key_expiry_days"] = "An edited docstring."
        return docs

    monkeypatch.setattr(reference, "attribute_docstrings", edited)
    page = _page()
    assert page != COMMITTED.read_text(encoding="utf-8")
    assert "An edited docstring." in page


def test_every_setting_and_sops_key_has_a_row_with_a_meaning() -> None:
    rows = {}
    for line in _page().splitlines():
        found = ROW.match(line)
        if found:
            rows.setdefault(found["key"], []).append(found["cells"].rsplit("|", 1)[-1].strip())
    # The top-level models' fields are the sections (the next test); below them, every field
    # that is not itself a model is a row.
    inner = {*_models(StackConfig), *_models(StackSecrets)} - {StackConfig, StackSecrets}
    for model in inner:
        for name, field in model.model_fields.items():
            if any(True for _ in _nested(field.annotation)):
                continue
            assert any(key.split(".")[-1] == name for key in rows), f"{model.__name__}.{name}"
    empty = sorted(key for key, meanings in rows.items() if not all(meanings))
    assert empty == [], f"fields without a docstring: {empty}"


def test_every_catalog_name_and_stack_section_is_listed() -> None:
    page = _page()
    for storage in StorageProvider:
        for entry in secret_catalog(storage):
            assert f"| `{entry.name}` |" in page, entry.name
    for key in CONFIG_KEYS:
        assert re.search(rf"^### `relaymd-infra:{key}(\[\])?`$", page, re.MULTILINE), key
    for key in StackSecrets.model_fields:
        assert re.search(rf"^### `{key}`$", page, re.MULTILINE), key


def test_no_secret_value_reaches_the_page() -> None:
    def values(document: object) -> Iterator[str]:
        if isinstance(document, dict):
            for value in document.values():
                yield from values(value)
        elif isinstance(document, str):
            yield document

    page = _page()
    found = sorted(key for key in values(example_secrets_document()) if key in page)
    assert found == []


def test_docstrings_are_read_as_pydantic_reads_them() -> None:
    """The generator reads attribute docstrings itself (pydantic's use_attribute_docstrings
    costs every import a re-read of the source); both must find the same ones."""
    from pydantic._internal._docs_extraction import extract_docstrings_from_cls

    for model in {*_models(StackConfig), *_models(StackSecrets)}:
        with collector_paused():  # pydantic parses the source too (infra/ground/python_source)
            theirs = extract_docstrings_from_cls(model, use_inspect=True)
        assert attribute_docstrings(model) == theirs, model.__name__


def test_a_type_without_words_stops_the_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(reference._SCALARS, bool)
    with pytest.raises(InternalError, match="no words for <class 'bool'>"):
        _page()


def test_a_validator_without_a_description_stops_the_generator() -> None:
    def undocumented(value: str) -> str:
        return value

    with pytest.raises(InternalError, match="does not say what it accepts"):
        reference._validator_words(undocumented)


def test_angle_brackets_outside_code_are_escaped_and_pipes_split_no_cell() -> None:
    assert reference._cell("`<a>` then <b> | c") == "`<a>` then &lt;b&gt; \\| c"
