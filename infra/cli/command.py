"""What a command of the front door is: its name, its arguments and its run."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field

from infra.cli.exits import Exit


@dataclass(frozen=True)
class Command:
    name: str
    """As typed after the entry: ``python -m infra.cli <name>`` (and ``scripts/<name>``)."""
    summary: str
    """One line for the list of commands."""
    description: str
    """The ``--help`` text: what the command reads, writes and never does."""
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]
    meanings: dict[Exit, str] = field(default_factory=dict)
    """What each exit status means for this command, where it says more than the table."""
    check: Callable[[argparse.ArgumentParser, argparse.Namespace], None] | None = None
    """Checks across arguments, run before ``run``: it calls ``parser.error`` (exit 2)."""
