"""Reaching a checked host: testinfra's backends, pinned SSH host keys, plain errors.

Every SSH connection runs with ``StrictHostKeyChecking=yes`` and ``BatchMode=yes`` (never a
prompt, never a key accepted on first use). A host whose key the inventory pins is checked
against that key alone: its own known_hosts file, looked up under ``HostKeyAlias=<hostname>``,
whatever the tester's ssh_config says. One master connection per host carries every command
(``ControlMaster``), closed when the run ends.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import testinfra

from infra.verify.inventory import reached_over_ssh
from infra.verify.observed import ObservedError

FACTS_SCRIPT = (Path(__file__).resolve().parent / "facts.sh").read_text()
FACTS_MARKER = "@@relaymd-facts "
MAX_FACTS_BYTES = 48 * 1024 * 1024
CONNECT_TIMEOUT_SECONDS = 10
LOCAL_ATTEMPTS = 2


class UnreachableError(Exception):
    """SSH could not run a command on the host: the message is ssh's own, in one line."""


@dataclass(frozen=True)
class Output:
    rc: int
    stdout: str
    """Decoded with surrogateescape: byte counts survive, nothing raises."""
    stderr: str


@dataclass(frozen=True)
class Endpoint:
    """Where a host is and how it proves who it is."""

    label: str
    """The name lines and the pinned key use: the tailnet hostname, or ``LAN probe``."""
    spec: str
    host_key: str | None = None


@dataclass
class Remote:
    endpoint: Endpoint
    host: Any
    control_path: Path | None = None
    options: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.endpoint.label

    def run(self, command: str) -> Output:
        """Run ``command`` there (every command the suite sends only reads: safe to repeat)."""
        for attempt in range(LOCAL_ATTEMPTS):
            try:
                result = self.host.run(command)
                break
            except RuntimeError as error:
                # testinfra raises with the CommandResult when ssh itself fails (exit 255).
                raise UnreachableError(_ssh_error(error.args[0] if error.args else error)) from None
            except OSError as error:
                # Starting ssh here failed (many threads spawn at once): once more, then say so.
                if attempt + 1 == LOCAL_ATTEMPTS:
                    raise UnreachableError(
                        f"could not start ssh on this machine: {error}"
                    ) from None
        return Output(
            int(result.rc),
            result.stdout_bytes.decode("utf-8", "surrogateescape"),
            result.stderr_bytes.decode("utf-8", "replace"),
        )

    def close(self) -> None:
        """End the master connection now rather than when ControlPersist runs out."""
        if self.control_path is None or not self.control_path.exists():
            return
        subprocess.run(
            ["ssh", "-o", f"ControlPath={self.control_path}", "-O", "exit", "relaymd-verify"],
            capture_output=True,
            timeout=10,
            check=False,
        )


def _ssh_error(result: object) -> str:
    raw = getattr(result, "stderr_bytes", b"")
    stderr = raw.decode("utf-8", "replace") if isinstance(raw, bytes) and raw else str(result)
    lines = [line.strip() for line in str(stderr).splitlines() if line.strip()]
    return lines[-1] if lines else "ssh failed without a message"


@dataclass
class Connector:
    """Makes the run's :class:`Remote` for each endpoint, sharing one private directory."""

    directory: Path
    ssh_config: str | None = None
    sudo: bool = False
    remotes: list[Remote] = field(default_factory=list)

    def connect(self, endpoint: Endpoint) -> Remote:
        """The remote for ``endpoint``: one per endpoint, its master connection reused."""
        for known in self.remotes:
            if known.endpoint == endpoint:
                return known
        if not reached_over_ssh(endpoint.spec):
            remote = Remote(endpoint, testinfra.get_host(endpoint.spec, sudo=self.sudo))
            self.remotes.append(remote)
            return remote
        control = self.directory / f"control-{len(self.remotes)}"
        options = [
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            f"ConnectTimeout={CONNECT_TIMEOUT_SECONDS}",
            "ControlMaster=auto",
            "ControlPersist=60s",
            f"ControlPath={control}",
        ]
        if endpoint.host_key is not None:
            known_hosts = self.directory / f"known_hosts-{len(self.remotes)}"
            alias = "relaymd-verify-" + "-".join(endpoint.label.lower().split())
            known_hosts.write_text(f"{alias} {endpoint.host_key}\n", encoding="utf-8")
            options += [
                f"HostKeyAlias={alias}",
                f"UserKnownHostsFile={known_hosts}",
                "GlobalKnownHostsFile=/dev/null",
                "UpdateHostKeys=no",
                "CheckHostIP=no",
            ]
        extra = " ".join(f"-o {shlex.quote(option)}" for option in options)
        settings: dict[str, Any] = {"sudo": self.sudo, "ssh_extra_args": extra}
        if self.ssh_config:
            settings["ssh_config"] = self.ssh_config
        remote = Remote(
            endpoint, testinfra.get_host(endpoint.spec, **settings), control, tuple(options)
        )
        self.remotes.append(remote)
        return remote

    def close(self) -> None:
        for remote in self.remotes:
            remote.close()


@dataclass(frozen=True)
class Section:
    status: int
    output: str


def facts_command(socket: str | None, units: Iterable[str], command_line: bool = False) -> str:
    arguments = [socket or "-", "yes" if command_line else "no", *units]
    return " ".join(
        ["bash", "-c", shlex.quote(FACTS_SCRIPT), "facts", *map(shlex.quote, arguments)]
    )


def parse_facts(text: str) -> dict[str, Section]:
    """facts.sh's sections by name; ObservedError when its framing is broken."""
    if len(text) > MAX_FACTS_BYTES:
        raise ObservedError("the host printed more than its facts ever take")
    data = text.encode("utf-8", "surrogateescape")
    sections: dict[str, Section] = {}
    position = 0
    while position < len(data):
        end = data.find(b"\n", position)
        header = data[position:end].decode("utf-8", "replace") if end >= 0 else ""
        if not header.startswith(FACTS_MARKER):
            raise ObservedError(f"unexpected output from the host: {header[:60]!r}")
        fields = header[len(FACTS_MARKER) :].split(" ")
        if len(fields) != 3 or not fields[1].isdigit() or not fields[2].isdigit():
            raise ObservedError(f"unexpected output from the host: {header[:60]!r}")
        name, status, size = fields[0], int(fields[1]), int(fields[2])
        body = data[end + 1 : end + 1 + size]
        if len(body) != size:
            raise ObservedError(f"the host's {name} section ends early")
        sections[name] = Section(status, body.decode("utf-8", "replace"))
        position = end + 1 + size + 1
    return sections
