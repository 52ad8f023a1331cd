"""The pipeline's shell steps: real bash files in ``steps/``, composed into one script per step.

pulumi-command runs each step as ``bash -c <script>`` on the deploying machine, so a step is
the text of its parts in order (shared prelude first). The text is constant: every plain value
and every timeout arrives in a ``RELAYMD_*`` environment variable, and the rendered tree and the
secrets arrive on stdin as one base64 .tar.gz, so no script ever carries a value.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from importlib.resources import files

STEPS_PACKAGE = "infra.nixos"
STEPS_DIRECTORY = "steps"


class Step(StrEnum):
    INSTALL = "install"
    INSTALLED = "installed"
    """What an installed relay's install runs when its other inputs change: a notice."""
    DELIVER_SECRETS = "deliver-secrets"
    UPDATE = "update"


STEP_PARTS: dict[Step, tuple[str, ...]] = {
    Step.INSTALL: ("prelude.sh", "build.sh", "host-files.sh", "install.sh"),
    Step.INSTALLED: ("installed.sh",),
    Step.DELIVER_SECRETS: ("prelude.sh", "remote.sh", "host-files.sh", "deliver-secrets.sh"),
    Step.UPDATE: ("prelude.sh", "remote.sh", "build.sh", "update.sh"),
}


def step_part(name: str) -> str:
    """One file of ``steps/``, read from the installed package."""
    return (files(STEPS_PACKAGE) / STEPS_DIRECTORY / name).read_text(encoding="utf-8")


@cache
def step_script(step: Step) -> str:
    """The whole script of ``step``: its parts, in order, as one text."""
    return "".join(step_part(part) for part in STEP_PARTS[step])
