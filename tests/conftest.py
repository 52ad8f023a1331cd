"""Shared fixtures. Tests never read anything outside the project and their tmp dirs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.stacks import canary_secrets_document, example_raw_config, stack_with_secrets
from tests.support.topology.fixtures import topology

__all__ = ["topology"]  # the namespaced hosts, shared by tests/infra and tests/harness


@pytest.fixture
def example_config() -> dict[str, Any]:
    return example_raw_config()


@pytest.fixture
def canary_document() -> dict[str, Any]:
    return canary_secrets_document()


@pytest.fixture
def canary_stack(tmp_path: Path, canary_document: dict[str, Any]) -> dict[str, Any]:
    """The example stack's settings with every secret replaced by a canary."""
    return stack_with_secrets(tmp_path, canary_document)
