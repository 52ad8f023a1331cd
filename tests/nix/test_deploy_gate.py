"""The health-gated switch each host runs on itself: relaymd-switch, as deploy-gate.nix builds it.

Its text comes from the whole-host evaluation (with the host's own tailnet name, tags, names to
resolve and /healthz port) and runs under bash against the host stand-in of
tests/support/deploy_gate.py: a healthy, confirmed host runs the new system and boots it; any
failed probe, a missing confirmation or a failed boot loader install leaves it running and
booting the previous one, and names what failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from infra.nixos.pipeline import SWITCH_TIMEOUT_S
from tests.nix.test_host_eval import ORCHESTRATOR, RELAY, host
from tests.support.deploy_gate import (
    GATE_STUBS,
    SCHEDULER_WARNING,
    TAILNET_WARNING,
    HostState,
    StandInHost,
    fake_system,
    healthz,
    install_stubs,
    relaymd_switch_environment,
    run_confirming,
    tailscale_status,
)

pytestmark = pytest.mark.nix

_QUICK_GATE = (
    "relaymd.deployGate = { timeoutSeconds = 1; activationTimeoutSeconds = 2; "
    "confirmTimeoutSeconds = 2; bootTimeoutSeconds = 2; lockWaitSeconds = 1; };"
)
QUICK = {
    RELAY: f"{{ {_QUICK_GATE} }}",
    ORCHESTRATOR: f"{{ {_QUICK_GATE} relaymd.orchestrator.startTimeoutSeconds = 1; }}",
}
RELAY_DNS = "relaymd-relay.tail0a1b2c.ts.net."
ORCHESTRATOR_DNS = "relaymd-orchestrator.tail0a1b2c.ts.net."
STATUS = {
    RELAY: tailscale_status("Running", RELAY_DNS, ["tag:relaymd-relay"]),
    ORCHESTRATOR: tailscale_status("Running", ORCHESTRATOR_DNS, ["tag:relaymd-orchestrator"]),
}


def gate_script(tree: Path, name: str, *modules: str) -> str:
    script: str = host(tree, name, QUICK[name], *modules)["deployGate"]["script"]
    return script


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    install_stubs(directory, GATE_STUBS)
    return directory


GateRun = tuple[int, str, str, list[str], Path, Path, HostState]


def run_gate(
    tmp_path: Path,
    stubs: Path,
    script: str,
    status: str | None,
    *,
    effects: tuple[str, ...] = (),
    confirm: bool = True,
    attempt: str = "a1",
    **environment: str,
) -> GateRun:
    """One attempt on a host running (and booting) a previous system, with the deployment's
    confirmation unless ``confirm`` is off."""
    previous = fake_system(tmp_path / "previous-system")
    new = fake_system(tmp_path / "new-system", script, effects)
    stand_in = StandInHost(tmp_path / "host", previous)
    if status is not None:
        (tmp_path / "status.json").write_text(status)
    env = relaymd_switch_environment(stubs, stand_in, tmp_path, **environment)
    code, out, err = run_confirming(
        new / "sw" / "bin" / "relaymd-switch", [str(new), attempt], env, confirm=confirm
    )
    log = tmp_path / "calls.log"
    calls = log.read_text().splitlines() if log.exists() else []
    return code, out, err, calls, new, previous, stand_in.state()


def activated(system: Path) -> list[str]:
    return [f"{system}/bin/switch-to-configuration test"]


def made_default(system: Path) -> list[str]:
    return [
        f"nix-env -p /nix/var/nix/profiles/system --set {system}",
        f"{system}/bin/switch-to-configuration boot",
    ]


def switches(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("nix-env") or "switch-to-configuration" in c]


def test_the_script_passes_shellcheck_as_write_shell_application_requires(
    example_tree: Path, tmp_path: Path
) -> None:
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    for name in (RELAY, ORCHESTRATOR):
        script = tmp_path / f"{name}.sh"
        script.write_text(
            "#!/usr/bin/env bash\nset -euo pipefail\n"
            + host(example_tree, name)["deployGate"]["script"]
        )
        result = subprocess.run(
            ["shellcheck", str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout


def test_every_host_ships_the_gate_with_its_own_values(example_tree: Path) -> None:
    relay = host(example_tree, RELAY)["deployGate"]
    orchestrator = host(example_tree, ORCHESTRATOR)["deployGate"]
    assert relay["installed"] is orchestrator["installed"] is True
    assert relay["healthzPort"] is None
    assert orchestrator["healthzPort"] == 36158
    assert relay["timeoutSeconds"] == orchestrator["timeoutSeconds"] == 180
    assert '[ "$name" != relaymd-relay ]' in relay["script"]
    assert '[ "$tags" != tag:relaymd-orchestrator ]' in orchestrator["script"]
    # What each depends on: the control plane; the orchestrator Infisical too.
    assert relay["resolveNames"] == ["controlplane.tailscale.com"]
    assert orchestrator["resolveNames"] == ["controlplane.tailscale.com", "app.infisical.com"]


@pytest.mark.parametrize("name", [RELAY, ORCHESTRATOR])
def test_one_attempt_ends_well_within_the_deployments_own_bound(
    example_tree: Path, name: str
) -> None:
    """Every step of relaymd-switch is bounded; their sum, and the SSH logins around it, fit in
    the update step's RELAYMD_SWITCH_TIMEOUT_SECONDS, so the step never gives up on a host
    that is still deciding."""
    bound = host(example_tree, name)["deployGate"]["boundSeconds"]
    assert bound > 0
    assert bound + 2 * 120 < SWITCH_TIMEOUT_S


def test_a_healthy_confirmed_relay_runs_and_boots_the_new_system(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    code, out, err, calls, new, _, state = run_gate(
        tmp_path, stubs, gate_script(example_tree, RELAY), STATUS[RELAY]
    )
    assert code == 0, err
    # Activated first; the profile and the boot loader only once healthy and confirmed.
    assert switches(calls) == activated(new) + made_default(new)
    assert (state.running, state.boot_default, state.profile) == (str(new),) * 3
    assert "awaiting confirmation: a1" in out
    assert "confirmed over a new SSH connection" in out
    assert (
        "healthy: tailscaled Running as relaymd-relay with tag:relaymd-relay, "
        "controlplane.tailscale.com resolving; confirmed;"
    ) in out
    # No /healthz on a relay; the names it needs are looked up.
    assert not any(c.startswith("curl") for c in calls)
    assert "getent ahosts controlplane.tailscale.com" in calls


def test_a_healthy_orchestrator_answers_healthz_on_both_tailnet_addresses(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    code, _, err, calls, new, _, state = run_gate(
        tmp_path, stubs, gate_script(example_tree, ORCHESTRATOR), STATUS[ORCHESTRATOR]
    )
    assert code == 0, err
    assert switches(calls) == activated(new) + made_default(new)
    assert state.boot_default == str(new)
    assert [c for c in calls if c.startswith("curl")] == [
        "curl --silent --show-error --max-time 15 http://100.64.0.1:36158/healthz",
        "curl --silent --show-error --max-time 15 http://[fd7a:115c:a1e0::1]:36158/healthz",
    ]
    assert "getent ahosts app.infisical.com" in calls


def test_without_ipv6_the_orchestrator_answers_healthz_on_its_tailnet_ipv4_address(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    """No forwarding socket without IPv6, so its tailnet IPv6 address is not probed."""
    script = gate_script(example_tree, ORCHESTRATOR, "{ networking.enableIPv6 = false; }")
    code, _, err, calls, new, _, _ = run_gate(tmp_path, stubs, script, STATUS[ORCHESTRATOR])
    assert code == 0, err
    assert switches(calls) == activated(new) + made_default(new)
    assert [c for c in calls if c.startswith("curl")] == [
        "curl --silent --show-error --max-time 15 http://100.64.0.1:36158/healthz",
    ]


def test_a_scheduler_warning_is_reported_but_does_not_fail_the_switch(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    """RelayMD warns while every SLURM cluster is disabled and jobs queue: an operational
    state, not this system's fault; the new system stays."""
    code, _, err, _, new, _, state = run_gate(
        tmp_path,
        stubs,
        gate_script(example_tree, ORCHESTRATOR),
        STATUS[ORCHESTRATOR],
        effects=("scheduler-warning",),
    )
    assert code == 0, err
    assert state.boot_default == str(new)
    assert f"not judged: {SCHEDULER_WARNING}" in err


def test_a_tailnet_warning_fails_the_switch_even_when_connected_says_true(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    """The control for the test above: a warning RelayMD derives from tailscaled is judged."""
    code, _, err, _, _, previous, state = run_gate(
        tmp_path,
        stubs,
        gate_script(example_tree, ORCHESTRATOR),
        STATUS[ORCHESTRATOR],
        HEALTHZ_BODY=healthz(warnings=[TAILNET_WARNING]),
    )
    assert code == 1
    assert "tailnet_warnings" in err and "NeedsLogin" in err
    assert (state.running, state.boot_default) == (str(previous), str(previous))


@pytest.mark.parametrize(
    ("name", "status", "environment", "effects", "named"),
    [
        (RELAY, None, {}, (), "tailscaled does not answer"),
        (
            RELAY,
            tailscale_status("Starting", "", []),
            {},
            (),
            "tailscaled is Starting, not Running (still after 1 s)",
        ),
        (
            RELAY,
            tailscale_status("NeedsLogin", "", []),
            {},
            (),
            "tailscaled is NeedsLogin, not Running: if the node's auth key is spent or "
            'expired, re-key the node (docs/operating.md, "Re-keying a node")',
        ),
        (
            RELAY,
            STATUS[RELAY],
            {},
            ("dns-broken",),
            "the host cannot resolve controlplane.tailscale.com (getent ahosts)",
        ),
        (
            ORCHESTRATOR,
            STATUS[ORCHESTRATOR],
            {"HEALTHZ_BODY": healthz(connected=False, warnings=[TAILNET_WARNING])},
            (),
            "GET http://100.64.0.1:36158/healthz is not healthy",
        ),
        (
            ORCHESTRATOR,
            STATUS[ORCHESTRATOR],
            {"HEALTHZ_FAIL": "100.64.0.1"},
            (),
            "GET http://100.64.0.1:36158/healthz failed",
        ),
        (
            ORCHESTRATOR,
            STATUS[ORCHESTRATOR],
            {"HEALTHZ_FAIL": "[fd7a:"},
            (),
            "GET http://[fd7a:115c:a1e0::1]:36158/healthz failed",
        ),
        (
            ORCHESTRATOR,
            STATUS[ORCHESTRATOR],
            {"TS_IPS": ""},
            (),
            "tailscale ip lists no tailnet address to check /healthz on",
        ),
    ],
)
def test_a_failing_probe_switches_back_and_names_what_failed(
    example_tree: Path,
    tmp_path: Path,
    stubs: Path,
    name: str,
    status: str | None,
    environment: dict[str, str],
    effects: tuple[str, ...],
    named: str,
) -> None:
    code, out, err, calls, new, previous, state = run_gate(
        tmp_path, stubs, gate_script(example_tree, name), status, effects=effects, **environment
    )
    assert code == 1
    assert f"health check failed: {named}" in err
    # Never made the default: switching back is activating the previous system again.
    assert switches(calls) == activated(new) + activated(previous)
    assert f"switching back to {previous}" in err
    assert "awaiting confirmation" not in out
    assert (state.running, state.boot_default, state.profile) == (str(previous),) * 3


@pytest.mark.parametrize("mismatch", ["relaymd-relay-1.tail0a1b2c.ts.net.", RELAY_DNS])
def test_a_name_or_tag_mismatch_names_the_re_key_path_without_waiting(
    example_tree: Path, tmp_path: Path, stubs: Path, mismatch: str
) -> None:
    tags = ["tag:relaymd-relay"] if mismatch != RELAY_DNS else []
    status = tailscale_status("Running", mismatch, tags)
    code, _, err, calls, _, _, _ = run_gate(
        tmp_path, stubs, gate_script(example_tree, RELAY), status
    )
    assert code == 1
    assert 're-key the node (docs/operating.md, "Re-keying a node")' in err
    # The old advice replays a spent key: it is gone.
    assert "then switch again" not in err
    # Settled identity: one look, no retries.
    assert sum(c.startswith("tailscale status") for c in calls) == 1


def test_without_a_confirmation_the_host_switches_back_by_itself(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    """deploy-rs's guarantee: healthy is not enough until a new login proves it works."""
    code, out, err, calls, new, previous, state = run_gate(
        tmp_path, stubs, gate_script(example_tree, RELAY), STATUS[RELAY], confirm=False
    )
    assert code == 1
    assert "awaiting confirmation: a1" in out
    assert "health check failed: no confirmation over a new SSH connection within 2 s" in err
    assert switches(calls) == activated(new) + activated(previous)
    assert (state.running, state.boot_default) == (str(previous), str(previous))


def test_a_confirmation_after_the_deadline_is_refused(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    run_gate(tmp_path, stubs, gate_script(example_tree, RELAY), STATUS[RELAY], confirm=False)
    late = subprocess.run(
        [str(tmp_path / "new-system" / "sw" / "bin" / "relaymd-switch"), "--confirm", "a1"],
        env=relaymd_switch_environment(
            stubs, StandInHost(tmp_path / "late", tmp_path / "previous-system"), tmp_path
        ),
        capture_output=True,
        text=True,
        check=False,
    )
    assert late.returncode == 1
    assert "no switch awaits confirmation a1" in late.stderr


@pytest.mark.parametrize("attempt", ["", "../etc", "A1", "a b"])
def test_an_attempt_name_that_could_leave_the_state_directory_is_refused(
    example_tree: Path, tmp_path: Path, stubs: Path, attempt: str
) -> None:
    code, _, err, calls, _, _, _ = run_gate(
        tmp_path, stubs, gate_script(example_tree, RELAY), STATUS[RELAY], attempt=attempt
    )
    assert code == 2
    assert "a-z, 0-9 and -" in err
    assert switches(calls) == []


def test_a_failed_activation_switches_back_too(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    new_switch = tmp_path / "new-system" / "bin" / "switch-to-configuration"
    code, _, err, calls, new, previous, state = run_gate(
        tmp_path,
        stubs,
        gate_script(example_tree, RELAY),
        STATUS[RELAY],
        FAIL_SWITCH=str(new_switch),
    )
    assert code == 1
    assert "health check failed: switch-to-configuration test failed (exit 4)" in err
    assert switches(calls) == activated(new) + activated(previous)
    assert not any(c.startswith("tailscale") for c in calls)
    assert state.boot_default == str(previous)


def test_a_system_that_needs_a_reboot_is_not_kept(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    code, _, err, _, _, previous, state = run_gate(
        tmp_path,
        stubs,
        gate_script(example_tree, RELAY),
        STATUS[RELAY],
        effects=("needs-reboot",),
    )
    assert code == 1
    assert "exited 100: this system needs a reboot to run" in err
    assert (state.running, state.boot_default) == (str(previous), str(previous))


def test_a_failed_boot_loader_install_restores_the_previous_default(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    """`boot` failing after the profile moved: the profile and the boot loader go back."""
    script = gate_script(example_tree, RELAY)
    previous = fake_system(tmp_path / "previous-system")
    new = fake_system(tmp_path / "new-system", script)
    stand_in = StandInHost(tmp_path / "host", previous)
    (tmp_path / "status.json").write_text(STATUS[RELAY])
    # switch-to-configuration boot of the new system fails; its test succeeds.
    switch = new / "bin" / "switch-to-configuration"
    switch.write_text(
        switch.read_text().replace(
            'if [ "$1" = boot ]; then exit 0; fi', 'if [ "$1" = boot ]; then exit 1; fi'
        )
    )
    env = relaymd_switch_environment(stubs, stand_in, tmp_path)
    code, _, err = run_confirming(new / "sw" / "bin" / "relaymd-switch", [str(new), "b1"], env)
    state = stand_in.state()
    assert code == 1
    assert f"health check failed: making {new} the boot default failed (exit 1)" in err
    assert f"restoring the boot default {previous}" in err
    assert (state.running, state.boot_default, state.profile) == (str(previous),) * 3


def test_a_second_attempt_waits_for_the_first_and_gives_up_changing_nothing(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    """The host's lock orders attempts; one still running past lockWaitSeconds (1 s here)
    turns the next away before it changes anything."""
    state_dir = tmp_path / "run-relaymd-switch"
    state_dir.mkdir()
    holder = subprocess.Popen(["flock", str(state_dir / "lock"), "sleep", "5"])
    try:
        time.sleep(0.3)
        code, _, err, calls, _, previous, state = run_gate(
            tmp_path, stubs, gate_script(example_tree, RELAY), STATUS[RELAY]
        )
    finally:
        holder.kill()
        holder.wait()
    assert code == 1
    assert "another switch still runs on this host after 1 s" in err
    assert "nothing was changed" in err
    assert switches(calls) == []
    assert state.running == str(previous)


def test_a_dropped_connection_cannot_stop_the_switch_back(
    example_tree: Path, tmp_path: Path, stubs: Path
) -> None:
    """Under `systemd-run --pipe` the script writes into the SSH session; once that is gone
    every write fails (EPIPE: systemd units ignore SIGPIPE). No message may end it early, and
    with nobody left to confirm, the host switches back by itself."""
    script = gate_script(example_tree, RELAY)
    previous = fake_system(tmp_path / "previous-system")
    new = fake_system(tmp_path / "new-system", script)
    stand_in = StandInHost(tmp_path / "host", previous)
    (tmp_path / "status.json").write_text(STATUS[RELAY])
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [
                "bash",
                "-c",
                'trap \'\' PIPE; exec "$0" "$@"',
                str(new / "sw" / "bin" / "relaymd-switch"),
                str(new),
                "c1",
            ],
            env=relaymd_switch_environment(stubs, stand_in, tmp_path),
            stdout=writer,
            stderr=writer,
            timeout=60,
            check=False,
        )
    finally:
        os.close(writer)
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert result.returncode == 1
    assert switches(calls) == activated(new) + activated(previous)
    state = stand_in.state()
    assert (state.running, state.boot_default) == (str(previous), str(previous))
