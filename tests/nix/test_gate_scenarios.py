"""Bad days for the health-gated switch, each run end to end (the real update step on the
deploying side, the host's real relaymd-switch and, on the orchestrator, its real container
check) against the host stand-in of tests/support/deploy_gate.py, and each paired with the
control that shows the same check passes when the fault is absent.

What the stand-ins follow, upstream:
- switch-to-configuration (NixOS switch-to-configuration-ng, src/main.rs): `test` activates
  without touching the boot loader, `boot` installs it for its own toplevel and activates
  nothing; GRUB boots its default entry (install-grub.pl: "NixOS - Default" is that toplevel);
- tailscaled (tailscale v1.98.5 ipn/ipnlocal/local.go nextStateLocked): once Running it stays
  Running when the LAN or DNS breaks; a restarted daemon answers nothing until it is back;
  `up --auth-key=file:` reads the key file (cmd/tailscale/cli/up.go);
- RelayMD 0.2.21 /healthz (src/relaymd/orchestrator/main.py): always 200, warnings from
  tailscaled and from the scheduler (services/slurm_provisioning_service.py);
- deploy-rs (serokell/deploy-rs src/deploy.rs, src/bin/activate.rs): the host keeps a new
  system only once the deployer confirms over a new SSH connection in time;
- systemd-run: a transient unit's name must be free.

For each scenario the test states what the host ends up running and booting.
"""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.nix.test_deploy_gate import QUICK, RELAY_DNS
from tests.nix.test_host_eval import ORCHESTRATOR, RELAY, host
from tests.nix.test_update_rollback import REMOTE_STUBS, UpdateRun, run_update, wait_for_event
from tests.support.deploy_gate import (
    GATE_STUBS,
    SCHEDULER_WARNING,
    TAILNET_WARNING,
    StandInHost,
    fake_system,
    healthz,
    install_stubs,
    run_unit_script,
    tailscale_status,
)

pytestmark = pytest.mark.nix


def runs_previous(run: UpdateRun) -> bool:
    """Runs the system it ran before, boots it, and its profile never moved."""
    return (run.host.running, run.host.boot_default, run.host.profile) == (str(run.previous),) * 3


def runs_new(run: UpdateRun) -> bool:
    return (run.host.running, run.host.boot_default, run.host.profile) == (str(run.new),) * 3


@pytest.mark.parametrize("name", [RELAY, ORCHESTRATOR])
def test_control_a_healthy_switch_keeps_the_new_system(
    example_tree: Path, tmp_path: Path, name: str
) -> None:
    run = run_update(example_tree, tmp_path, name)
    assert run.code == 0, run.stderr
    assert runs_new(run)


def test_lan_route_broken_the_confirmation_never_comes_and_the_host_switches_back(
    example_tree: Path, tmp_path: Path
) -> None:
    """Everything the host sees of itself passes (tailscaled stays Running through lost
    connectivity); only a new login over the LAN can tell, and it cannot connect."""
    run = run_update(example_tree, tmp_path, effects=("lan-broken",))
    assert run.code == 1
    assert "awaiting confirmation: " in run.stderr
    assert "No route to host" in run.stderr
    assert "no confirmation over a new SSH connection within 2 s" in run.stderr
    # Ends on: the previous system, running and booted.
    assert runs_previous(run)


def test_dns_broken_fails_the_health_check(example_tree: Path, tmp_path: Path) -> None:
    run = run_update(example_tree, tmp_path, effects=("dns-broken",))
    assert run.code == 1
    assert "the host cannot resolve controlplane.tailscale.com (getent ahosts)" in run.stderr
    assert "awaiting confirmation" not in run.stderr
    assert runs_previous(run)


def test_ssh_login_broken_the_confirmation_is_refused_and_the_host_switches_back(
    example_tree: Path, tmp_path: Path
) -> None:
    """E.g. a configuration that no longer lists the deploying key: the first switch would
    lock every later deployment out. The new login is refused, so it is never kept."""
    run = run_update(example_tree, tmp_path, effects=("ssh-login-broken",))
    assert run.code == 1
    assert "Permission denied (publickey)" in run.stderr
    assert "no new SSH connection to admin@10.100.10.2 could confirm" in run.stderr
    assert runs_previous(run)


def test_a_reboot_inside_the_window_comes_back_on_the_previous_system(
    example_tree: Path, tmp_path: Path
) -> None:
    """The machine restarts while the gate still judges the new system: the boot loader's
    default was never moved, so it boots the previous one."""
    run = run_update(example_tree, tmp_path, effects=("reboot-in-window",))
    assert run.code == 1
    assert f"reboot into {run.previous}" in run.host.events
    assert "was never confirmed" in run.stderr
    assert runs_previous(run)


def test_control_a_reboot_after_the_switch_comes_back_on_the_new_system(
    example_tree: Path, tmp_path: Path
) -> None:
    run = run_update(example_tree, tmp_path)
    assert run.code == 0, run.stderr
    stand_in = StandInHost(tmp_path / "after", run.previous)
    stand_in.directory.joinpath("boot-default").write_text(run.host.boot_default)
    stand_in.reboot()
    assert stand_in.state().running == str(run.new)


def test_tailscaled_crashing_while_the_container_restarts_never_starts_relaymd_without_it(
    example_tree: Path, tmp_path: Path
) -> None:
    """The activation restarts the container while tailscaled is down. Its check refuses to
    start RelayMD (which would otherwise start a tailscaled of its own with the worker key), the
    start fails, the switch goes back, and RelayMD starts once tailscaled is Running again."""
    run = run_update(example_tree, tmp_path, ORCHESTRATOR, effects=("tailscaled-restarting",))
    assert run.code == 1
    assert "switch-to-configuration test failed (exit 4)" in run.stderr
    events = run.host.events
    refused = events.index("relaymd not started")
    assert (
        "not starting RelayMD: the host's tailscaled is not answering, not Running"
        in (events[refused - 1])
    )
    assert events[refused + 1 :].count("relaymd started") == 1
    assert events.index(f"test {run.previous}") < events.index("relaymd started")
    # Ends on: the previous system, RelayMD running against the host's Running tailscaled.
    assert runs_previous(run)


def test_control_the_container_starts_when_tailscaled_is_running(
    example_tree: Path, tmp_path: Path
) -> None:
    run = run_update(example_tree, tmp_path, ORCHESTRATOR)
    assert run.code == 0, run.stderr
    assert "relaymd not started" not in run.host.events
    assert run.host.events.count("relaymd started") == 1


def test_a_scheduler_warning_keeps_the_new_system(example_tree: Path, tmp_path: Path) -> None:
    run = run_update(example_tree, tmp_path, ORCHESTRATOR, effects=("scheduler-warning",))
    assert run.code == 0, run.stderr
    assert f"not judged: {SCHEDULER_WARNING}" in run.stderr
    assert runs_new(run)


def test_control_a_tailnet_warning_switches_back(example_tree: Path, tmp_path: Path) -> None:
    run = run_update(
        example_tree,
        tmp_path,
        ORCHESTRATOR,
        HEALTHZ_BODY=healthz(connected=False, warnings=[TAILNET_WARNING]),
    )
    assert run.code == 1
    assert "/healthz is not healthy" in run.stderr
    assert runs_previous(run)


def test_a_switch_that_hangs_is_ended_at_its_bound_and_switched_back(
    example_tree: Path, tmp_path: Path
) -> None:
    run = run_update(example_tree, tmp_path, effects=("hang",))
    assert run.code == 1
    assert "switch-to-configuration test did not finish within 2 s" in run.stderr
    assert runs_previous(run)


SLOW_LOCK = "{ relaymd.deployGate.lockWaitSeconds = lib.mkForce 30; }"


def test_a_hung_attempt_cannot_block_the_next(example_tree: Path, tmp_path: Path) -> None:
    """Attempt A hangs; attempt B starts while A still runs. B gets a unit of its own, waits
    for A to end (bounded), then switches: the host ends on B's system."""
    lock_wait = "{ lib, ... }: " + SLOW_LOCK
    shared = StandInHost(tmp_path / "host", fake_system(tmp_path / "first-system"))
    first: list[UpdateRun] = []
    hanging = threading.Thread(
        target=lambda: first.append(
            run_update(
                example_tree,
                tmp_path / "a",
                effects=("hang",),
                stand_in=shared,
                modules=(lock_wait,),
            )
        )
    )
    hanging.start()
    # A holds the host's lock once it activates its (hanging) system.
    wait_for_event(shared.directory, f"test {tmp_path / 'a' / 'new-system'}")
    second = run_update(example_tree, tmp_path / "b", stand_in=shared, modules=(lock_wait,))
    hanging.join(timeout=60)
    [hung] = first
    assert hung.code == 1
    assert "did not finish within 2 s" in hung.stderr
    assert second.code == 0, second.stderr
    state = shared.state()
    assert (state.running, state.boot_default) == (str(second.new), str(second.new))
    # B activated only after A had switched back.
    assert state.events.index(f"test {tmp_path / 'first-system'}") < state.events.index(
        f"test {second.new}"
    )


def test_control_one_fixed_unit_name_would_block_the_next_attempt(tmp_path: Path) -> None:
    """Why each attempt names its own unit: systemd-run refuses a name that is taken."""
    bin_dir = tmp_path / "bin"
    install_stubs(bin_dir, {"systemd-run": REMOTE_STUBS["systemd-run"]})
    stand_in = StandInHost(tmp_path / "host", fake_system(tmp_path / "system"))
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "HOST_DIR": str(stand_in.directory),
        "STUB_LOG": str(tmp_path / "calls.log"),
    }
    first = subprocess.Popen(
        ["systemd-run", "--unit=relaymd-switch", "--wait", "sleep", "3"], env=env
    )
    time.sleep(0.5)
    second = subprocess.run(
        ["systemd-run", "--unit=relaymd-switch", "--wait", "true"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    other = subprocess.run(
        ["systemd-run", "--unit=relaymd-switch-2", "--wait", "true"], env=env, check=False
    )
    first.wait()
    assert second.returncode == 1
    assert "Unit relaymd-switch.service was already loaded" in second.stderr
    assert other.returncode == 0


def autoconnect_script(tree: Path, key_file: Path) -> str:
    module = f'{{ lib, ... }}: {{ relaymd.tailnet.authKeyFile = lib.mkForce "{key_file}"; }}'
    script: str = host(tree, RELAY, QUICK[RELAY], module)["services"]["tailscaled-autoconnect"][
        "script"
    ]
    return script


def run_autoconnect(tree: Path, tmp_path: Path, key_file: Path) -> subprocess.CompletedProcess[str]:
    """The evaluated tailscaled-autoconnect script, with the tailscale stand-in."""
    bin_dir = tmp_path / "bin"
    install_stubs(bin_dir, {"tailscale": GATE_STUBS["tailscale"], "systemd-notify": 'echo "$@"\n'})
    return run_unit_script(
        autoconnect_script(tree, key_file),
        {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "HOST_DIR": str(tmp_path / "host"),
            "STUB_LOG": str(tmp_path / "autoconnect.log"),
            "TS_STATUS": str(tmp_path / "status.json"),
        },
    )


def test_a_spent_host_key_keeps_the_previous_system_until_the_node_is_re_keyed(
    example_tree: Path, tmp_path: Path
) -> None:
    """A node logged out (the old advice) can log in again only with a new key: its single-use
    key is spent. Every switch meanwhile fails naming the re-key path and keeps the previous
    system; once a new key is in its file, autoconnect logs in and the same switch is kept."""
    key_file = tmp_path / "tailscale-auth-key"
    key_file.write_text("CANARY-spent-host-key\n")
    run = run_update(
        example_tree,
        tmp_path / "first",
        status=tailscale_status("NeedsLogin", "", []),
    )
    host_dir = tmp_path / "first" / "host"
    (host_dir / "spent-keys").write_text("CANARY-spent-host-key\n")
    assert run.code == 1
    assert 're-key the node (docs/operating.md, "Re-keying a node")' in run.stderr
    assert runs_previous(run)
    # Autoconnect replays the spent key: refused, and the node stays logged out.
    logged_out = tailscale_status("NeedsLogin", RELAY_DNS, ["tag:relaymd-relay"])
    (tmp_path / "first" / "status.json").write_text(logged_out)
    failed = run_autoconnect(example_tree, tmp_path / "first", key_file)
    assert failed.returncode != 0
    assert "invalid key" in failed.stderr
    # Re-keyed: a new key delivered to the file, then autoconnect once more.
    key_file.write_text("CANARY-fresh-host-key\n")
    joined = run_autoconnect(example_tree, tmp_path / "first", key_file)
    assert joined.returncode == 0, joined.stderr
    assert "--ready" in joined.stdout
    log = (tmp_path / "first" / "autoconnect.log").read_text()
    # The key went by file, never on a command line.
    assert f"--auth-key=file:{key_file}" in log
    assert "CANARY" not in log
    again = run_update(example_tree, tmp_path / "second", stand_in=StandInHost.reuse(host_dir))
    assert again.code == 0, again.stderr
    assert again.host.running == again.host.boot_default == str(again.new)
