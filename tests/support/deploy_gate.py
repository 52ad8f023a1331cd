"""A host stand-in for running relaymd-switch (the text a host's deploy-gate.nix builds) and the
update step that drives it, with every tool the two call replaced by a recording stand-in.

The script comes from the whole-host evaluation, with the host's own name, tags and port in it,
and runs as writeShellApplication runs it (bash, errexit, nounset, pipefail), with the real
coreutils (timeout), util-linux (flock) and jq. The host's state lives in files under
``HOST_DIR``: the running system (/run/current-system), the system profile, the boot loader's
default entry, and an event log. Each stand-in follows the upstream behaviour named beside it;
a system directory's ``effects`` file says what running that system does to the host (a fault a
scenario injects: DNS broken, SSH login broken, a hang ...).
"""

from __future__ import annotations

import json
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WRITE_SHELL_APPLICATION_PREAMBLE = "#!/bin/bash\nset -o errexit\nset -o nounset\nset -o pipefail\n"
RECORD = (
    'printf "%s" "$(basename "$0")" >> "$STUB_LOG"\n'
    'printf " %s" "$@" >> "$STUB_LOG"\n'
    'echo >> "$STUB_LOG"\n'
)
# What the running system does to the host: one effect per line of <system>/effects.
_EFFECTS = """running=$(cat "$HOST_DIR/current-system")
has() { grep -qxF "$1" "$running/effects" 2> /dev/null; }
event() { printf '%s\\n' "$*" >> "$HOST_DIR/events.log"; }
"""
SCHEDULER_WARNING = "Queued jobs are waiting, but all SLURM clusters are disabled for provisioning."
"""RelayMD 0.2.21 services/slurm_provisioning_service.py, _ALL_CLUSTERS_DISABLED_WARNING."""
TAILNET_WARNING = (
    "Tailscale is not connected (BackendState='NeedsLogin'). "
    "Workers will be unable to reach the orchestrator via Tailscale."
)
"""RelayMD 0.2.21 src/relaymd/orchestrator/main.py, _check_tailscale_warning."""

GATE_STUBS = {
    # tailscale v1.98.5: `status --json` prints ipnstate.Status (BackendState, Self.DNSName,
    # Self.Tags); once Running, a node stays Running through lost connectivity
    # (ipn/ipnlocal/local.go nextStateLocked), so a broken LAN or DNS leaves it Running. A
    # restarted tailscaled answers nothing, then NoState, until it has a network map again.
    # `up --auth-key=file:<path>` reads the key from the file (cmd/tailscale/cli/up.go).
    "tailscale": RECORD
    + _EFFECTS
    + """while [ "${1:-}" != "${1#--socket=}" ]; do shift; done
case "${1:-}" in
  status)
    if has tailscaled-down; then
      echo "failed to connect to local tailscaled; it doesn't appear to be running" >&2
      exit 1
    fi
    if has tailscaled-restarting && [ ! -e "$HOST_DIR/tailscaled-back" ]; then
      touch "$HOST_DIR/tailscaled-back"
      echo "failed to connect to local tailscaled; it doesn't appear to be running" >&2
      exit 1
    fi
    if has reboot-in-window; then
      # What GRUB boots: its default entry. The transient unit dies with the machine.
      cat "$HOST_DIR/boot-default" > "$HOST_DIR/current-system"
      event "reboot into $(cat "$HOST_DIR/boot-default")"
      for pid in "$HOST_DIR"/units/*.pid; do
        kill -KILL -- "-$(cat "$pid")" 2> /dev/null || true
      done
      exit 1
    fi
    [ -f "$TS_STATUS" ] || exit 1
    # After a successful `up`, the daemon is Running whatever it was before.
    if [ -f "$HOST_DIR/backend-state" ]; then
      jq -c --arg state "$(cat "$HOST_DIR/backend-state")" '.BackendState = $state' "$TS_STATUS"
    else
      cat "$TS_STATUS"
    fi
    ;;
  ip)
    for address in $TS_IPS; do
      case "${2:-}:$address" in -4:*:*) ;; *) printf '%s\\n' "$address" ;; esac
    done
    ;;
  up)
    for argument in "$@"; do
      case "$argument" in --auth-key=file:*) key=$(cat "${argument#--auth-key=file:}") ;; esac
    done
    if grep -qxF "${key:-}" "$HOST_DIR/spent-keys" 2> /dev/null; then
      echo "backend error: invalid key: unable to validate API key" >&2
      exit 1
    fi
    printf '%s\\n' "$key" >> "$HOST_DIR/spent-keys"
    echo Running > "$HOST_DIR/backend-state"
    ;;
esac
""",
    # glibc getent: exit 2 when the name is not found (what a broken resolver gives).
    "getent": RECORD
    + _EFFECTS
    + """if has dns-broken; then exit 2; fi
printf '100.64.0.9      STREAM %s\\n' "$2"
""",
    # RelayMD's /healthz: always 200; the body says the rest (see healthz() below).
    "curl": RECORD
    + _EFFECTS
    + """# HEALTHZ_FAIL: a piece of the URLs that refuse the connection (one address family, say).
case "$*" in *"${HEALTHZ_FAIL:-no address refuses}"*)
  echo "curl: (7) Failed to connect" >&2; exit 7 ;;
esac
if has scheduler-warning; then printf '%s' "$HEALTHZ_SCHEDULER_BODY"; exit 0; fi
printf '%s' "$HEALTHZ_BODY"
""",
    # nix-env -p <profile> --set <path>: the profile's new generation points at <path>.
    "nix-env": RECORD + 'printf "%s\\n" "$4" > "$HOST_DIR/profile"\n',
    # readlink -f of the two links the gate reads; the host's, not this machine's.
    "readlink": RECORD
    + """case "$2" in
  /run/current-system) cat "$HOST_DIR/current-system" ;;
  /nix/var/nix/profiles/system) cat "$HOST_DIR/profile" ;;
  *) exec /usr/bin/readlink "$@" ;;
esac
""",
}

# NixOS switch-to-configuration-ng (src/main.rs, do_system_switch): `switch` and `boot` install
# the boot loader for the toplevel they are run from (GRUB's "NixOS - Default" entry is that
# toplevel: install-grub.pl); `boot` stops there; `test` and `switch` activate: units are
# started, and a unit that fails to start makes it exit 4; a changed init interface exits 100.
SWITCH_STUB = (
    "#!/bin/bash\n"
    'system=$(cd "$(dirname "$0")/.." && pwd)\n'
    'printf "%s %s\\n" "$0" "$*" >> "$STUB_LOG"\n'
    'printf "%s %s\\n" "$1" "$system" >> "$HOST_DIR/events.log"\n'
    'effect() { grep -qxF "$1" "$system/effects" 2> /dev/null; }\n'
    'if [ "$0" = "${FAIL_SWITCH:-}" ]; then exit 4; fi\n'
    'case "$1" in switch | boot) printf "%s\\n" "$system" > "$HOST_DIR/boot-default" ;; esac\n'
    'if [ "$1" = boot ]; then exit 0; fi\n'
    "if effect hang; then exec sleep 600; fi\n"
    "if effect needs-reboot; then exit 100; fi\n"
    'printf "%s\\n" "$system" > "$HOST_DIR/current-system"\n'
    # The container unit: its ExecStartPre (the evaluated tailnet check) runs before RelayMD.
    'if [ -f "$system/container-check" ]; then\n'
    '  if "$system/container-check" 2>> "$HOST_DIR/events.log"; then\n'
    '    echo "relaymd started" >> "$HOST_DIR/events.log"\n'
    "  else\n"
    '    echo "relaymd not started" >> "$HOST_DIR/events.log"\n'
    "    exit 4\n"
    "  fi\n"
    "fi\n"
)


def install_stubs(directory: Path, stubs: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in stubs.items():
        path = directory / name
        path.write_text("#!/bin/bash\nset -eu\n" + body)
        path.chmod(0o755)


def fake_system(
    path: Path,
    gate_script: str | None = None,
    effects: tuple[str, ...] = (),
    container_check: str | None = None,
) -> Path:
    """A system directory: bin/switch-to-configuration, sw/bin/relaymd-switch when given, what
    running it does to the host (``effects``) and, on an orchestrator, its container's check."""
    (path / "bin").mkdir(parents=True, exist_ok=True)
    switch = path / "bin" / "switch-to-configuration"
    switch.write_text(SWITCH_STUB)
    switch.chmod(0o755)
    (path / "effects").write_text("".join(f"{effect}\n" for effect in effects))
    if gate_script is not None:
        (path / "sw" / "bin").mkdir(parents=True, exist_ok=True)
        gate = path / "sw" / "bin" / "relaymd-switch"
        gate.write_text(WRITE_SHELL_APPLICATION_PREAMBLE + gate_script)
        gate.chmod(0o755)
    if container_check is not None:
        check = path / "container-check"
        check.write_text(WRITE_SHELL_APPLICATION_PREAMBLE + container_check)
        check.chmod(0o755)
    return path


def tailscale_status(state: str, dns_name: str, tags: list[str]) -> str:
    """`tailscale status --json --peers=false`, the fields the gate reads."""
    document: dict[str, Any] = {"BackendState": state, "Self": {"DNSName": dns_name}}
    if tags:
        document["Self"]["Tags"] = tags
    return json.dumps(document)


def healthz(*, connected: bool = True, warnings: list[str] | None = None) -> str:
    """RelayMD's /healthz body (always HTTP 200)."""
    tailscale: dict[str, Any] = {"connected": connected}
    if not connected:
        tailscale["error"] = "BackendState='NeedsLogin'"
    return json.dumps(
        {"status": "ok", "version": "0.2.21", "warnings": warnings or [], "tailscale": tailscale}
    )


@dataclass(frozen=True)
class HostState:
    """What the host runs, what it boots, and what happened, after a run."""

    running: str
    boot_default: str
    profile: str
    events: list[str]


class StandInHost:
    """The host's state files, set up as a host running ``previous`` (booted from it)."""

    def __init__(self, directory: Path, previous: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "units").mkdir(exist_ok=True)
        for name in ("current-system", "boot-default", "profile"):
            (directory / name).write_text(f"{previous}\n")
        (directory / "events.log").write_text("")

    @classmethod
    def reuse(cls, directory: Path) -> StandInHost:
        """The host as an earlier run left it."""
        stand_in = cls.__new__(cls)
        stand_in.directory = directory
        return stand_in

    def reboot(self) -> None:
        """The machine restarts: it runs what the boot loader's default entry names."""
        (self.directory / "current-system").write_text(
            (self.directory / "boot-default").read_text()
        )

    def state(self) -> HostState:
        return StandInHost.read(self.directory)

    @staticmethod
    def read(directory: Path) -> HostState:
        def read(name: str) -> str:
            return (directory / name).read_text().strip()

        return HostState(
            running=read("current-system"),
            boot_default=read("boot-default"),
            profile=read("profile"),
            events=read("events.log").splitlines(),
        )


def run_confirming(
    script: Path, arguments: list[str], environment: dict[str, str], *, confirm: bool = True
) -> tuple[int, str, str]:
    """Run relaymd-switch as the deployment would, answering "awaiting confirmation: <attempt>"
    with ``relaymd-switch --confirm <attempt>`` (a process of its own, like the deployment's new
    SSH connection) unless ``confirm`` is off. Returns the status, stdout and stderr."""
    process = subprocess.Popen(
        [str(script), *arguments],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    errors: list[str] = []
    assert process.stdout is not None and process.stderr is not None
    stderr = process.stderr
    reader = threading.Thread(target=lambda: errors.append(stderr.read()), daemon=True)
    reader.start()
    lines = []
    for line in process.stdout:
        lines.append(line)
        if confirm and line.startswith("awaiting confirmation: "):
            attempt = line.removeprefix("awaiting confirmation: ").strip()
            subprocess.run(
                [str(script), "--confirm", attempt],
                env=environment,
                capture_output=True,
                timeout=30,
                check=False,
            )
    code = process.wait(timeout=120)
    reader.join(timeout=10)
    return code, "".join(lines), "".join(errors)


def relaymd_switch_environment(
    bin_dir: Path, host: StandInHost, tmp_path: Path, **extra: str
) -> dict[str, str]:
    return {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "STUB_LOG": str(tmp_path / "calls.log"),
        "HOST_DIR": str(host.directory),
        "RELAYMD_SWITCH_STATE": str(tmp_path / "run-relaymd-switch"),
        "TS_STATUS": str(tmp_path / "status.json"),
        "TS_IPS": "100.64.0.1 fd7a:115c:a1e0::1",
        "HEALTHZ_BODY": healthz(),
        "HEALTHZ_SCHEDULER_BODY": healthz(warnings=[SCHEDULER_WARNING]),
        **extra,
    }


def run_unit_script(script: str, environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """A unit's evaluated ``script``, as a strictly checked NixOS unit script runs: bash with
    errexit, nounset and pipefail."""
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
