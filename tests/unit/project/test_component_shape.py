"""Every component is complete when constructed: its __init__ ends with register_outputs."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from infra.ground.project import PROJECT_ROOT
from tests.support.python_source import parse_file

PACKAGE = PROJECT_ROOT / "infra"


def component_classes() -> list[tuple[Path, ast.ClassDef]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(parse_file(path)):
            if isinstance(node, ast.ClassDef) and any(
                ast.unparse(base).endswith("ComponentResource") for base in node.bases
            ):
                found.append((path, node))
    return found


def _init(component: ast.ClassDef) -> ast.FunctionDef:
    inits = [
        node
        for node in component.body
        if isinstance(node, ast.FunctionDef) and node.name == "__init__"
    ]
    assert len(inits) == 1, f"{component.name} declares its resources in one __init__"
    return inits[0]


def _is_register_outputs(statement: ast.stmt) -> bool:
    return (
        isinstance(statement, ast.Expr)
        and isinstance(statement.value, ast.Call)
        and ast.unparse(statement.value.func) == "self.register_outputs"
    )


def test_every_component_is_found() -> None:
    names = {component.name for _, component in component_classes()}
    assert {"RelayVm", "Tailnet", "TailnetDevices", "NixosHost", "NixosSwitch"} <= names
    assert "InfisicalSecrets" in names


@pytest.mark.parametrize(
    "component", [c for _, c in component_classes()], ids=lambda component: component.name
)
def test_register_outputs_is_the_last_statement_and_the_only_one(
    component: ast.ClassDef,
) -> None:
    """Registered earlier, the outputs would miss what is declared after them; a second
    call (e.g. from a later ``declare_*`` method) would mean the component was finished in
    two steps."""
    body = _init(component).body
    assert _is_register_outputs(body[-1]), f"{component.name}.__init__ ends elsewhere"
    calls = [
        node
        for node in ast.walk(component)
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "self.register_outputs"
    ]
    assert len(calls) == 1
