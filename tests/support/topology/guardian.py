"""Removes a topology's namespaces, processes and scratch directory once its owner is gone.

The owner holds the write end of this process's stdin and never writes to it: the read
returns at end of file, which the kernel delivers however the owner ended, a SIGKILL
included, where neither ``atexit`` nor a finalizer runs. After a clean close it finds
nothing left. It runs in its own session, so a signal to the test run's process group
does not reach it.

    python3 -m tests.support.topology.guardian PREFIX DIRECTORY
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.topology.netns import Namespaces

PROJECT_ROOT = Path(__file__).resolve().parents[3]


def guard(prefix: str, directory: Path) -> subprocess.Popen[bytes]:
    """Start the guardian of ``prefix``; close its stdin once the topology is closed."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.topology.guardian", prefix, str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=PROJECT_ROOT,
        start_new_session=True,
    )


def clean(prefix: str, directory: Path) -> None:
    leftover = Namespaces(prefix)
    leftover.names += [name for name in Namespaces.listed() if name.startswith(f"{prefix}-")]
    leftover.close()
    shutil.rmtree(directory, ignore_errors=True)


def main(prefix: str, directory: str) -> None:
    sys.stdin.buffer.read()  # returns when the owner closes it or dies
    clean(prefix, Path(directory))


if __name__ == "__main__":
    main(*sys.argv[1:])
