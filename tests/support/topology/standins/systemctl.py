"""Stand-in ``systemctl`` (installed as ``systemctl``) for the units the topology runs.

The namespaces have no systemd, so the topology records each "unit" it starts as a pid
file under ``$RELAYMD_HARNESS_UNITS``. Upstream behaviour mirrored (systemctl(1),
systemd 252): ``is-active UNIT...`` prints one state per unit (``active``, or
``inactive`` for a stopped or unknown unit) and exits 0 only when all are active, else 3;
``show -p MainPID --value UNIT`` prints the main PID, 0 when the unit is not running.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXIT_NOT_ACTIVE = 3


def _main_pid(unit: str) -> int:
    name = unit.removesuffix(".service")
    pid_file = Path(os.environ["RELAYMD_HARNESS_UNITS"]) / f"{name}.pid"
    try:
        pid = int(pid_file.read_text().strip())
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, ValueError):
        return 0
    return 0 if state == "Z" else pid


def is_active(units: list[str]) -> int:
    states = ["active" if _main_pid(unit) else "inactive" for unit in units]
    print("\n".join(states))
    return 0 if states and all(state == "active" for state in states) else EXIT_NOT_ACTIVE


def show(arguments: list[str]) -> int:
    units = [a for a in arguments if not a.startswith("-") and a != "MainPID"]
    wants_main_pid = "MainPID" in arguments or "--property=MainPID" in arguments
    if not wants_main_pid or len(units) != 1:
        print("stand-in systemctl: only `show -p MainPID --value UNIT`", file=sys.stderr)
        return 1
    pid = _main_pid(units[0])
    print(pid if "--value" in arguments else f"MainPID={pid}")
    return 0


def main(argv: list[str]) -> int:
    arguments = [a for a in argv if a not in ("--quiet", "-q", "--no-pager")]
    if arguments[:1] == ["is-active"]:
        return is_active(arguments[1:])
    if arguments[:1] == ["show"]:
        return show(arguments[1:])
    print(f"stand-in systemctl: unsupported {argv}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
