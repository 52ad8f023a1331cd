"""An existing stack sees no replacement: every URN of the example at 2545627 is still produced
or aliased.

A URN is the engine's identity of a resource (type chain of its parents, its type, its name);
a resource whose URN changes without an alias is deleted and created again. The file beside
this test lists the example plan's URNs as commit 2545627 declared them, before the modules
moved into layers.
"""

from __future__ import annotations

from pathlib import Path

from infra.plan.engine import Deployment, run_program
from tests.support.stacks import example_raw_config

BEFORE = Path(__file__).with_name("example-urns-at-2545627.txt")


def _type_chain(urn: str) -> str:
    """``urn:pulumi:<stack>::<project>::<type chain>::<name>`` → the type chain."""
    return urn.split("::")[2]


def produced_or_aliased(deployment: Deployment) -> set[str]:
    urns = set()
    for resource in deployment.resources:
        urns.add(resource.urn)
        stack_project = resource.urn.rsplit("::", 2)[0]
        for parent in resource.alias_parents:
            # The resource's URN had it been declared under that parent (Pulumi's alias spec).
            urns.add(f"{stack_project}::{_type_chain(parent)}${resource.type}::{resource.name}")
    return urns


def test_every_urn_of_the_example_before_the_move_is_produced_or_aliased() -> None:
    before = BEFORE.read_text(encoding="utf-8").split()
    assert len(before) == 36
    produced = produced_or_aliased(run_program("example", example_raw_config()))
    assert sorted(set(before) - produced) == []


def test_the_check_sees_a_renamed_resource() -> None:
    """The control: a URN nobody produces is reported."""
    deployment = run_program("example", example_raw_config())
    renamed = BEFORE.read_text(encoding="utf-8").split()[0] + "-renamed"
    assert renamed not in produced_or_aliased(deployment)
