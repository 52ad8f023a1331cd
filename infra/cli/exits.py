"""The one exit-code table every command keeps (``--help`` of each command lists it)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0
    """Done: the render, check or judgement came out as it should."""
    FAILED = 1
    """The command ran and found something wrong: files differ, a host is unhealthy, a secret
    is missing or a credential expires soon."""
    REFUSED = 2
    """Input refused (an argument, file, environment variable or server answer), named with the
    fix; nothing was written or changed."""
    INTERNAL = 3
    """Nothing was judged: a service could not be reached, or a bug of ours (``--debug`` prints
    its traceback)."""


GENERAL_MEANINGS: dict[Exit, str] = {
    Exit.OK: "ok",
    Exit.FAILED: "differences found, unhealthy, missing or expiring",
    Exit.REFUSED: "input refused (argument, file, environment or server answer); nothing written",
    Exit.INTERNAL: "a service could not be reached, or an internal error (--debug: traceback)",
}


def exit_table(meanings: dict[Exit, str]) -> str:
    """The ``exit status`` block of a command's ``--help``: its own words where it has them."""
    lines = ["exit status:"]
    for status in Exit:
        lines.append(f"  {status.value}  {meanings.get(status, GENERAL_MEANINGS[status])}")
    return "\n".join(lines)
