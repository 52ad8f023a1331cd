"""Run the real Pulumi program (infra/__main__.py) under Pulumi's mock engine.

No CLI, no credentials, no network: the official unit-test engine stands in for the
deployment engine, and :class:`RecordingMonitor` keeps what the program declared.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
from pulumi.runtime import settings

from infra.ground.project import PROJECT, PROJECT_ROOT
from infra.plan.input_schema import DeclaredResource, check_resources
from infra.plan.mocks import (
    CallResults,
    PlanMocks,
    RecordedResource,
    ResourceOutputs,
    run_mocked,
)
from infra.program.program import declare_stack
from infra.stack.decided import DecidedStack

PROGRAM_ENTRY = PROJECT_ROOT / "infra" / "__main__.py"


@dataclass(frozen=True)
class ExportedOutput:
    value: Any
    known: bool
    secret: bool


@dataclass(frozen=True)
class Deployment:
    stack: str
    preview: bool
    resources: tuple[RecordedResource, ...]
    outputs: Mapping[str, ExportedOutput]
    mocks: PlanMocks
    required_versions: tuple[str, ...] = ()
    """Pulumi CLI version ranges the program required (``pulumi.require_pulumi_version``)."""

    def by_type(self, type_token: str) -> list[RecordedResource]:
        return [resource for resource in self.resources if resource.type == type_token]

    def named(self, type_token: str, name: str) -> RecordedResource:
        matches = [r for r in self.by_type(type_token) if r.name == name]
        if len(matches) != 1:
            raise KeyError(f"{len(matches)} resources of type {type_token} named {name}")
        return matches[0]


def run_program(
    stack: str,
    raw_config: Mapping[str, Any],
    *,
    preview: bool = True,
    resource_outputs: Mapping[str, ResourceOutputs] | None = None,
    call_results: Mapping[str, CallResults] | None = None,
    decided: DecidedStack | None = None,
    check_inputs: bool = True,
) -> Deployment:
    """Declare every resource of ``stack`` as ``pulumi preview`` (or ``up``) would.

    Without ``decided`` the program's entry point runs as under ``pulumi up``: it reads the
    config and the SOPS file and decides the stack itself. With it, the program declares that
    decision, so a caller that already decided (the plan) does not decrypt and decide twice.
    """

    def program() -> None:
        if decided is None:
            runpy.run_path(str(PROGRAM_ENTRY), run_name="__main__")
        else:
            declare_stack(decided)

    return run_declarations(
        stack,
        program,
        raw_config=raw_config,
        preview=preview,
        resource_outputs=resource_outputs,
        call_results=call_results,
        check_inputs=check_inputs,
    )


def run_declarations(
    stack: str,
    declare: Callable[[], None],
    *,
    raw_config: Mapping[str, Any] | None = None,
    preview: bool = True,
    resource_outputs: Mapping[str, ResourceOutputs] | None = None,
    call_results: Mapping[str, CallResults] | None = None,
    check_inputs: bool = True,
) -> Deployment:
    """Run ``declare`` (the program, or one component) under the mock engine and record it.

    With ``check_inputs`` every input is checked against the provider SDKs' declared
    input types (:mod:`infra.plan.input_schema`): the mock engine itself accepts anything.
    """
    mocks = PlanMocks(
        preview=preview, resource_outputs=resource_outputs or {}, call_results=call_results or {}
    )
    exported: dict[str, ExportedOutput] = {}

    def program() -> Awaitable[None]:
        declare()
        return _resolve_exports(exported)

    config = {f"{PROJECT}:{key}": _config_text(value) for key, value in (raw_config or {}).items()}
    monitor, plan_engine = run_mocked(stack, mocks, program, config)
    if check_inputs:
        check_resources(
            DeclaredResource(
                resource.type,
                resource.name,
                resource.inputs,
                secret_outputs=resource.additional_secret_outputs,
                ignored_changes=resource.ignore_changes,
            )
            for resource in monitor.recorded
        )
    return Deployment(
        stack,
        preview,
        tuple(monitor.recorded),
        exported,
        mocks,
        required_versions=tuple(plan_engine.required_versions),
    )


def _config_text(value: Any) -> str:
    # The CLI hands structured config to programs as JSON text; do the same.
    return value if isinstance(value, str) else json.dumps(value)


async def _resolve_exports(into: dict[str, ExportedOutput]) -> None:
    root = settings.get_root_resource()
    outputs: Mapping[str, Any] = getattr(root, "outputs", {})
    for name, value in outputs.items():
        output = pulumi.Output.from_input(value)
        into[name] = ExportedOutput(
            value=await output.future(with_unknowns=True),
            known=await output.is_known(),
            secret=await output.is_secret(),
        )
