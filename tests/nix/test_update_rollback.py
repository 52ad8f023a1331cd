"""The update step end to end: the pipeline's real update script and its recording stand-ins on
the deploying side; behind a stand-in ssh, the host stand-in of tests/support/deploy_gate.py
running the host's real relaymd-switch (from the whole-host evaluation). The step confirms a
healthy host over a new SSH connection; a failing probe or a missing confirmation leaves the
host running and booting its previous system.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra.config.hosts import Host
from infra.nixos.pipeline import HostPipeline, command_stdin, host_pipeline
from tests.nix.test_deploy_gate import QUICK, STATUS
from tests.nix.test_host_eval import RELAY, host
from tests.support.deploy_gate import (
    GATE_STUBS,
    RECORD,
    SCHEDULER_WARNING,
    HostState,
    StandInHost,
    fake_system,
    healthz,
    install_stubs,
    tailscale_status,
)
from tests.unit.nixos.test_pipeline_scripts import (
    STUBS,
    assert_no_secret_in,
    example_hosts,
    run_script,
    secrets_for,
)

pytestmark = pytest.mark.nix

# The deploying side's ssh reaches the host stand-in: it runs the remote command here (its last
# argument), unless what the host now runs has broken the LAN route or SSH logins.
REMOTE_STUBS = {
    "ssh": STUBS["ssh"].split('case "$*" in')[0]
    + """running=$(cat "$HOST_DIR/current-system")
if grep -qxF lan-broken "$running/effects" 2> /dev/null; then
  echo "ssh: connect to host 10.100.10.2 port 22: No route to host" >&2
  exit 255
fi
if grep -qxF ssh-login-broken "$running/effects" 2> /dev/null; then
  echo "admin@10.100.10.2: Permission denied (publickey)." >&2
  exit 255
fi
# The switch's connection drops once the host took the command: the host goes on alone.
case "$*" in *systemd-run*)
  if [ -n "${SSH_DROPS_SWITCH:-}" ]; then
    setsid bash -c "${*: -1}" > /dev/null 2>&1 < /dev/null &
    echo "Connection to 10.100.10.2 closed by remote host." >&2
    exit 255
  fi ;;
esac
bash -c "${*: -1}"
""",
    # sudo(8): -n never prompts.
    "sudo": '[ "${1:-}" != -n ] || shift\nexec "$@"\n',
    # systemd-run --wait: a transient unit of its own, whose name must be free (systemd refuses
    # a unit name that is already loaded: "Unit <name> was already loaded"); --collect removes
    # it when it ends. Its processes are a group of their own, so a reboot can end them all.
    "systemd-run": RECORD
    + """unit=
for argument in "$@"; do
  case "$argument" in --unit=*) unit=${argument#--unit=} ;; esac
done
while [ "$1" != --wait ]; do shift; done
shift
if [ -e "$HOST_DIR/units/$unit" ]; then
  echo "Failed to start transient service unit: Unit $unit.service was already loaded" \
    "or has a fragment file." >&2
  exit 1
fi
touch "$HOST_DIR/units/$unit"
setsid "$@" &
pid=$!
echo "$pid" > "$HOST_DIR/units/$unit.pid"
code=0
wait "$pid" || code=$?
rm -f "$HOST_DIR/units/$unit" "$HOST_DIR/units/$unit.pid"
exit "$code"
""",
}


@dataclass(frozen=True)
class UpdateRun:
    code: int
    stderr: str
    calls: list[str]
    new: Path
    previous: Path
    host: HostState


def pipeline_for(name: str) -> tuple[Host, HostPipeline]:
    hosts, nixos, secrets = example_hosts()
    chosen = hosts["relay" if name == RELAY else "orchestrator"]
    tree = {f"{name}/configuration.nix": "{ ... }: { }\n"}
    return chosen, host_pipeline(chosen, nixos, tree, secrets)


def systems(
    tree: Path, tmp_path: Path, name: str, effects: tuple[str, ...], *modules: str
) -> tuple[Path, Path]:
    """The previous system and the new one (with its faults), both this host's real gate."""
    evaluated = host(tree, name, QUICK[name], *modules)
    gate = evaluated["deployGate"]["script"]
    check = evaluated["orchestratorTailnetCheck"]
    previous = fake_system(tmp_path / "previous-system", gate, container_check=check)
    new = fake_system(tmp_path / "new-system", gate, effects, container_check=check)
    return previous, new


def run_update(
    tree: Path,
    tmp_path: Path,
    name: str = RELAY,
    *,
    status: str | None = None,
    effects: tuple[str, ...] = (),
    stand_in: StandInHost | None = None,
    modules: tuple[str, ...] = (),
    **environment: str,
) -> UpdateRun:
    """One run of the update step against a host stand-in running its previous system (or
    ``stand_in``, a host shared with another run)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    bin_dir = tmp_path / "bin"
    install_stubs(bin_dir, {**STUBS, **GATE_STUBS, **REMOTE_STUBS})
    previous, new = systems(tree, tmp_path, name, effects, *modules)
    stand_in = stand_in or StandInHost(tmp_path / "host", previous)
    (tmp_path / "status.json").write_text(status or STATUS[name])
    chosen, pipeline = pipeline_for(name)
    update = pipeline.update
    stdin = command_stdin(update, secrets_for(chosen))
    plain = {
        "STUB_SYSTEM": str(new),
        "HOST_DIR": str(stand_in.directory),
        "RELAYMD_SWITCH_STATE": str(stand_in.directory / "run-relaymd-switch"),
        "TS_STATUS": str(tmp_path / "status.json"),
        "TS_IPS": "100.64.0.2",
        "HEALTHZ_BODY": healthz(),
        "HEALTHZ_SCHEDULER_BODY": healthz(warnings=[SCHEDULER_WARNING]),
        **environment,
    }
    result = run_script(update, bin_dir, tmp_path, stdin, plain)
    assert_no_secret_in(result.stderr)
    calls = (tmp_path / "argv.log").read_text().splitlines()
    return UpdateRun(result.returncode, result.stderr, calls, new, previous, stand_in.state())


def switch_calls(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("nix-env") or "switch-to-configuration" in c]


def test_a_healthy_host_is_confirmed_over_a_new_connection_and_keeps_the_new_system(
    example_tree: Path, tmp_path: Path
) -> None:
    run = run_update(example_tree, tmp_path)
    assert run.code == 0, run.stderr
    assert switch_calls(run.calls) == [
        f"{run.new}/bin/switch-to-configuration test",
        f"nix-env -p /nix/var/nix/profiles/system --set {run.new}",
        f"{run.new}/bin/switch-to-configuration boot",
    ]
    assert (run.host.running, run.host.boot_default, run.host.profile) == (str(run.new),) * 3
    [transient] = [c for c in run.calls if c.startswith("systemd-run")]
    assert "--unit=relaymd-switch-" in transient
    # Two logins after the access check: the switch's, then the confirmation's own.
    logins = [c for c in run.calls if c.startswith("ssh ")]
    assert [c.rsplit(" ", 3)[-3:] for c in logins[:1]] == [["sudo", "-n", "true"]]
    assert "relaymd-switch --confirm " in logins[-1]
    assert "switched; the host confirmed its health and" in run.stderr


def test_a_failing_probe_leads_to_the_rollback_and_fails_the_step_naming_it(
    example_tree: Path, tmp_path: Path
) -> None:
    run = run_update(example_tree, tmp_path, status=tailscale_status("Starting", "", []))
    assert run.code == 1
    assert switch_calls(run.calls) == [
        f"{run.new}/bin/switch-to-configuration test",
        f"{run.previous}/bin/switch-to-configuration test",
    ]
    assert (
        f"error: relaymd-relay is not healthy on {run.new}: tailscaled is Starting, not Running "
        "(still after 1 s); it switched back to its previous system"
    ) in run.stderr
    assert (run.host.running, run.host.boot_default) == (str(run.previous), str(run.previous))


def wait_for_event(stand_in_dir: Path, event: str, seconds: float = 30) -> None:
    """Until the host stand-in logged ``event`` (the switch goes on there after the step)."""
    deadline = time.monotonic() + seconds
    while event not in StandInHost.read(stand_in_dir).events:
        assert time.monotonic() < deadline, f"the host never logged {event!r}"
        time.sleep(0.2)


def test_a_lost_connection_fails_the_step_and_the_unconfirmed_host_switches_back(
    example_tree: Path, tmp_path: Path
) -> None:
    run = run_update(example_tree, tmp_path, SSH_DROPS_SWITCH="1")
    assert run.code == 1
    assert (
        "error: relaymd-relay did not report back (a lost connection or a timeout after 2400 s) and"
    ) in run.stderr
    assert "was never confirmed, so the host switches back by itself" in run.stderr
    # Alone, the host waits for the confirmation that never comes, then switches back.
    wait_for_event(tmp_path / "host", f"test {run.previous}")
    state = StandInHost.read(tmp_path / "host")
    assert (state.running, state.boot_default) == (str(run.previous), str(run.previous))
    assert f"test {run.new}" in state.events and f"test {run.previous}" in state.events
