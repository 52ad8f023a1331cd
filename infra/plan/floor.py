"""The mock engine's own floor: bare resources declared the way a plan runs its program.

``scripts/bench`` compares a plan of N resources with a process that imports the same SDKs
and declares N custom resources with no inputs and no options (the stack is their parent, as
it is of any top-level resource), under the mock engine set up exactly as the plan sets it up
(:func:`infra.plan.mocks.run_mocked`, a preview). Whatever the plan takes beyond that floor is
the work of what it declares: this program's own, and the SDK's for real resources' inputs
and outputs.
"""

from __future__ import annotations

import pulumi

from infra.plan.mocks import PlanMocks, run_mocked

BARE_TYPE = "relaymd:bench:Bare"


class Bare(pulumi.CustomResource):
    """A custom resource with nothing in it.

    A class of its own, as every provider SDK's resource is: the SDK records the stack of the
    code that declared a resource, found below the concrete class's ``__init__``
    (pulumi/runtime/resource.py, ``_get_stack_trace``, pulumi 3.272.0); without one it records
    nothing and the floor would skip work every real resource costs.
    """

    def __init__(self, name: str) -> None:
        super().__init__(BARE_TYPE, name, {})


def declare_bare_resources(count: int, stack: str = "bench") -> int:
    """Declare ``count`` bare resources under the mock engine; the number it recorded."""

    def program() -> None:
        for index in range(count):
            Bare(f"bare-{index}")

    monitor, _ = run_mocked(stack, PlanMocks(preview=True), program)
    return len(monitor.recorded)
