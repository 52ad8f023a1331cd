"""Network namespaces, links and processes the topology creates, and their removal.

Every name carries a per-run prefix derived from the pid (several suites may run at once
on one machine). Whatever is created is registered at once, and removed by
:meth:`Namespaces.close`, which the fixtures' finalizers call and ``atexit`` calls again
should a run be interrupted: all processes inside the namespaces are killed first, then
the namespaces (with their links) are deleted.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import itertools
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TypeVar

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
NETNS_ETC = Path("/etc/netns")
"""Files ``ip netns exec`` bind-mounts over ``/etc`` (a namespace's own resolv.conf)."""
_counter = itertools.count()
_T = TypeVar("_T")


STALE_NAME = re.compile(r"rmd(\d+)x\d+-")


def reap_stale() -> list[str]:
    """Remove namespaces left by runs that were killed outright (their pid is gone)."""
    reaped = []
    for name in Namespaces.listed():
        match = STALE_NAME.match(name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            leftover = Namespaces(name)
            leftover.names.append(name)
            leftover.close()
            reaped.append(name)
    return reaped


def run_prefix() -> str:
    """``rmd<pid>x<n>``: unique among concurrent runs and among topologies of one run."""
    return f"rmd{os.getpid()}x{next(_counter)}"


def ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True, text=True, timeout=30)


class Namespaces:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.names: list[str] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self._closed = False
        atexit.register(self.close)

    def add(self, role: str) -> str:
        name = f"{self.prefix}-{role}"
        self.names.append(name)
        ip("netns", "add", name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def veth(self, namespace: str, interface: str, hub: str, hub_port: str) -> None:
        """``interface`` in ``namespace``, its peer ``hub_port`` on the hub's bridge ``br0``."""
        ip(
            "link",
            "add",
            interface,
            "netns",
            namespace,
            "type",
            "veth",
            "peer",
            "name",
            hub_port,
            "netns",
            hub,
        )
        ip("-n", hub, "link", "set", hub_port, "master", "br0", "up")
        ip("-n", namespace, "link", "set", interface, "up")

    def bridge(self, hub: str) -> None:
        ip("-n", hub, "link", "add", "br0", "type", "bridge")
        ip("-n", hub, "link", "set", "br0", "up")

    def start(
        self, namespace: str, argv: Sequence[str], log: Path, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` in ``namespace``; ``ip netns exec`` execs it, so the pid is its own."""
        handle: IO[bytes] = log.open("ab")
        process = subprocess.Popen(
            ["ip", "netns", "exec", namespace, *argv],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        handle.close()
        self.processes.append(process)
        return process

    @staticmethod
    def listed() -> list[str]:
        result = subprocess.run(
            ["ip", "netns", "list"], capture_output=True, text=True, check=False
        )
        return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]

    def pids(self, namespace: str) -> list[int]:
        result = subprocess.run(
            ["ip", "netns", "pids", namespace], capture_output=True, text=True, check=False
        )
        return [int(pid) for pid in result.stdout.split()]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for process in self.processes:
            if process.poll() is None:
                process.kill()
        for _ in range(2):  # sshd's session children and anything they started
            for name in self.names:
                for pid in self.pids(name):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        for name in reversed(self.names):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)
            shutil.rmtree(NETNS_ETC / name, ignore_errors=True)
        atexit.unregister(self.close)


def in_namespace(namespace: str, action: Callable[[], _T]) -> _T:
    """Run ``action`` in a thread that entered ``namespace`` (setns is per thread)."""
    libc = ctypes.CDLL(None, use_errno=True)
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        with (NETNS_DIR / namespace).open() as handle:
            if libc.setns(handle.fileno(), CLONE_NEWNET) != 0:
                failure.append(OSError(ctypes.get_errno(), f"setns into {namespace}"))
                return
        try:
            outcome.append(action())
        except BaseException as error:  # handed to the caller's thread
            failure.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def wait_until(ready: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"topology: {what} did not come up within {timeout:.0f}s")
        time.sleep(0.05)


def listening(namespace: str, address: str, port: int) -> bool:
    """Does ``address:port`` accept a connection, seen from inside ``namespace``?"""

    def attempt() -> bool:
        try:
            with socket.create_connection((address, port), timeout=0.5):
                return True
        except OSError:
            return False

    return in_namespace(namespace, attempt)
