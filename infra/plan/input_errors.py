"""The input-schema check's error, apart from the check: catching it needs no provider SDK."""

from __future__ import annotations

from collections.abc import Sequence

from infra.ground.errors import InternalError


class InputSchemaError(InternalError):
    """The program declared an input the provider would refuse: a bug in this program."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        lines = ["a resource input does not match the provider SDK's declared inputs:"]
        lines += [f"  - {problem}" for problem in self.problems]
        super().__init__("\n".join(lines))
