"""One plan decrypts once, decides once and renders once; `pulumi up` decides once itself."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

import infra.config.sops
import infra.nixos.tree
import infra.plan.render
import infra.program.program
import infra.stack.decided
from infra.plan.engine import run_program


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts sops processes, decisions and renders, wherever they are called from."""
    counted: Counter[str] = Counter()

    def counting(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counted[name] += 1
            return function(*args, **kwargs)

        return wrapper

    real_popen = infra.config.sops.subprocess.Popen

    def popen(argv: list[str], *args: Any, **kwargs: Any) -> Any:
        if argv and argv[0].endswith("sops"):
            counted["sops"] += 1
        return real_popen(argv, *args, **kwargs)

    monkeypatch.setattr(infra.config.sops.subprocess, "Popen", popen)
    for module in (infra.plan.render, infra.program.program):
        monkeypatch.setattr(module, "decide_stack", counting("decide", module.decide_stack))
    stack_module = infra.stack.decided
    monkeypatch.setattr(stack_module, "nixos_tree", counting("render", stack_module.nixos_tree))
    monkeypatch.setattr(
        infra.nixos.tree,
        "render_host_configuration",
        counting("host configuration", infra.nixos.tree.render_host_configuration),
    )
    monkeypatch.setattr(
        stack_module,
        "build_tailnet_model",
        counting("tailnet model", stack_module.build_tailnet_model),
    )
    return counted


def test_a_plan_decrypts_decides_and_renders_once(calls: Counter[str]) -> None:
    files, _ = infra.plan.render.render_stack("example")
    assert calls == {
        "sops": 1,
        "decide": 1,
        "render": 1,
        "host configuration": 2,  # one per host
        "tailnet model": 1,
    }
    assert "plan.json" in files


def test_the_program_decides_once_when_nobody_handed_it_a_decision(
    calls: Counter[str], example_config: dict[str, Any]
) -> None:
    """The `pulumi up` path: the entry point reads config and SOPS, then decides, once."""
    run_program("example", example_config, preview=True)
    assert calls == {
        "sops": 1,
        "decide": 1,
        "render": 1,
        "host configuration": 2,
        "tailnet model": 1,
    }
