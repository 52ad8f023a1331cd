"""Rendered trees shared by the Nix tests (rendered once per session, read-only)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.nixos_stacks import full_raw_config, orchestrator_only_raw_config, render_tree
from tests.support.stacks import example_raw_config


@pytest.fixture(scope="session")
def example_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("example") / "build"
    render_tree(example_raw_config(), directory)
    return directory / "nixos"


@pytest.fixture(scope="session")
def full_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("full") / "build"
    render_tree(full_raw_config(), directory)
    return directory / "nixos"


@pytest.fixture(scope="session")
def orchestrator_only_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("orchestrator-only") / "build"
    render_tree(orchestrator_only_raw_config(), directory)
    return directory / "nixos"
