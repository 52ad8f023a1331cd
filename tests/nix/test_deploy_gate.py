"""The health-gated switch each host runs on itself: relaymd-switch, as deploy-gate.nix builds it.

Its text comes from the whole-host evaluation (with the host's own tailnet name, tags and
/healthz port) and runs under bash with recording stand-ins: a healthy host keeps the new
system; any failed probe switches back to the previous one and names what failed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.nix.test_host_eval import ORCHESTRATOR, RELAY, host
from tests.support.deploy_gate import (
    GATE_STUBS,
    fake_system,
    healthz,
    install_stubs,
    tailscale_status,
)

pytestmark = pytest.mark.nix

QUICK = "{ relaymd.deployGate.timeoutSeconds = 1; }"
RELAY_DNS = "relaymd-relay.tail0a1b2c.ts.net."
ORCHESTRATOR_DNS = "relaymd-orchestrator.tail0a1b2c.ts.net."


def gate_script(tree: Path, name: str) -> str:
    script: str = host(tree, name, QUICK)["deployGate"]["script"]
    return script


GateRun = tuple[subprocess.CompletedProcess[str], list[str], Path, Path]


def run_gate(tmp_path: Path, script: str, status: str | None, **environment: str) -> GateRun:
    return run_gate_into(tmp_path, script, status, environment, output_fd=None)


def run_gate_into(
    tmp_path: Path,
    script: str,
    status: str | None,
    environment: dict[str, str],
    output_fd: int | None,
) -> GateRun:
    """Run the gate against the stand-ins; its output is captured, or goes to ``output_fd``
    with SIGPIPE ignored, as under systemd."""
    bin_dir = tmp_path / "bin"
    install_stubs(bin_dir, GATE_STUBS)
    new = fake_system(tmp_path / "new-system", script)
    previous = fake_system(tmp_path / "previous-system")
    log = tmp_path / "calls.log"
    status_file = tmp_path / "status.json"
    if status is not None:
        status_file.write_text(status)
    command = [str(new / "sw" / "bin" / "relaymd-switch"), str(new)]
    streams: dict[str, Any] = {"capture_output": True}
    if output_fd is not None:
        command = ["bash", "-c", 'trap \'\' PIPE; exec "$0" "$1"', *command]
        streams = {"stdout": output_fd, "stderr": output_fd}
    result = subprocess.run(
        command,
        env={
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "STUB_LOG": str(log),
            "TS_STATUS": str(status_file),
            "TS_IPS": "100.64.0.1 fd7a:115c:a1e0::1",
            "PREVIOUS_SYSTEM": str(previous),
            "HEALTHZ_BODY": healthz(),
            **environment,
        },
        **streams,
        text=True,
        timeout=60,
        check=False,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls, new, previous


def switched_to(system: Path) -> list[str]:
    return [
        f"nix-env -p /nix/var/nix/profiles/system --set {system}",
        f"{system}/bin/switch-to-configuration switch",
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
            "#!/usr/bin/env bash\nset -euo pipefail\n" + gate_script(example_tree, name)
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


def test_a_healthy_relay_keeps_the_new_system(example_tree: Path, tmp_path: Path) -> None:
    status = tailscale_status("Running", RELAY_DNS, ["tag:relaymd-relay"])
    result, calls, new, _ = run_gate(tmp_path, gate_script(example_tree, RELAY), status)
    assert result.returncode == 0, result.stderr
    assert switches(calls) == switched_to(new)
    assert "healthy: tailscaled Running as relaymd-relay with tag:relaymd-relay" in result.stdout
    # No /healthz on a relay.
    assert not any(c.startswith("curl") for c in calls)


def test_a_healthy_orchestrator_answers_healthz_on_both_tailnet_addresses(
    example_tree: Path, tmp_path: Path
) -> None:
    status = tailscale_status("Running", ORCHESTRATOR_DNS, ["tag:relaymd-orchestrator"])
    result, calls, new, _ = run_gate(tmp_path, gate_script(example_tree, ORCHESTRATOR), status)
    assert result.returncode == 0, result.stderr
    assert switches(calls) == switched_to(new)
    assert [c for c in calls if c.startswith("curl")] == [
        "curl --silent --show-error --max-time 15 http://100.64.0.1:36158/healthz",
        "curl --silent --show-error --max-time 15 http://[fd7a:115c:a1e0::1]:36158/healthz",
    ]


def test_without_ipv6_the_orchestrator_answers_healthz_on_its_tailnet_ipv4_address(
    example_tree: Path, tmp_path: Path
) -> None:
    """No forwarding socket without IPv6, so its tailnet IPv6 address is not probed."""
    script: str = host(example_tree, ORCHESTRATOR, QUICK, "{ networking.enableIPv6 = false; }")[
        "deployGate"
    ]["script"]
    status = tailscale_status("Running", ORCHESTRATOR_DNS, ["tag:relaymd-orchestrator"])
    result, calls, new, _ = run_gate(tmp_path, script, status)
    assert result.returncode == 0, result.stderr
    assert switches(calls) == switched_to(new)
    assert [c for c in calls if c.startswith("curl")] == [
        "curl --silent --show-error --max-time 15 http://100.64.0.1:36158/healthz",
    ]


@pytest.mark.parametrize(
    ("name", "status", "environment", "named"),
    [
        (RELAY, None, {}, "tailscaled does not answer"),
        (
            RELAY,
            tailscale_status("Starting", "", []),
            {},
            "tailscaled is Starting, not Running (still after 1 s)",
        ),
        (
            RELAY,
            tailscale_status(
                "Running", "relaymd-relay-1.tail0a1b2c.ts.net.", ["tag:relaymd-relay"]
            ),
            {},
            "the node's tailnet name is relaymd-relay-1, not relaymd-relay",
        ),
        (
            RELAY,
            tailscale_status("Running", RELAY_DNS, ["tag:relaymd-worker"]),
            {},
            "the node's tags are tag:relaymd-worker, not tag:relaymd-relay",
        ),
        (
            ORCHESTRATOR,
            tailscale_status("Running", ORCHESTRATOR_DNS, ["tag:relaymd-orchestrator"]),
            {"HEALTHZ_BODY": healthz(connected=False, warnings=["tailscale: NeedsLogin"])},
            "GET http://100.64.0.1:36158/healthz is not healthy",
        ),
        (
            ORCHESTRATOR,
            tailscale_status("Running", ORCHESTRATOR_DNS, ["tag:relaymd-orchestrator"]),
            {"HEALTHZ_FAIL": "100.64.0.1"},
            "GET http://100.64.0.1:36158/healthz failed",
        ),
        (
            ORCHESTRATOR,
            tailscale_status("Running", ORCHESTRATOR_DNS, ["tag:relaymd-orchestrator"]),
            {"HEALTHZ_FAIL": "[fd7a:"},
            "GET http://[fd7a:115c:a1e0::1]:36158/healthz failed",
        ),
        (
            ORCHESTRATOR,
            tailscale_status("Running", ORCHESTRATOR_DNS, ["tag:relaymd-orchestrator"]),
            {"TS_IPS": ""},
            "tailscale ip lists no tailnet address to check /healthz on",
        ),
    ],
)
def test_a_failing_probe_switches_back_and_names_what_failed(
    example_tree: Path,
    tmp_path: Path,
    name: str,
    status: str | None,
    environment: dict[str, str],
    named: str,
) -> None:
    tree = example_tree
    result, calls, new, previous = run_gate(
        tmp_path, gate_script(tree, name), status, **environment
    )
    assert result.returncode == 1
    assert f"health check failed: {named}" in result.stderr
    assert switches(calls) == switched_to(new) + switched_to(previous)
    assert f"switching back to {previous}" in result.stderr


@pytest.mark.parametrize("mismatch", ["relaymd-relay-1.tail0a1b2c.ts.net.", RELAY_DNS])
def test_a_name_or_tag_mismatch_names_the_fix_without_waiting(
    example_tree: Path, tmp_path: Path, mismatch: str
) -> None:
    tags = ["tag:relaymd-relay"] if mismatch != RELAY_DNS else []
    status = tailscale_status("Running", mismatch, tags)
    result, calls, _, _ = run_gate(tmp_path, gate_script(example_tree, RELAY), status)
    assert result.returncode == 1
    assert 'run "tailscale logout" on the host, then switch again' in result.stderr
    # Settled identity: one look, no retries.
    assert sum(c.startswith("tailscale status") for c in calls) == 1


def test_a_failed_activation_switches_back_too(example_tree: Path, tmp_path: Path) -> None:
    status = tailscale_status("Running", RELAY_DNS, ["tag:relaymd-relay"])
    new_switch = tmp_path / "new-system" / "bin" / "switch-to-configuration"
    result, calls, new, previous = run_gate(
        tmp_path, gate_script(example_tree, RELAY), status, FAIL_SWITCH=str(new_switch)
    )
    assert result.returncode == 1
    assert "health check failed: switch-to-configuration switch failed" in result.stderr
    assert switches(calls) == switched_to(new) + switched_to(previous)
    assert not any(c.startswith("tailscale") for c in calls)


def test_a_dropped_connection_cannot_stop_the_switch_back(
    example_tree: Path, tmp_path: Path
) -> None:
    """Under `systemd-run --pipe` the script writes into the SSH session; once that is gone
    every write fails (EPIPE: systemd units ignore SIGPIPE). No message may end it early."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result, calls, new, previous = run_gate_into(
            tmp_path,
            gate_script(example_tree, RELAY),
            tailscale_status("Starting", "", []),
            {},
            output_fd=writer,
        )
    finally:
        os.close(writer)
    assert result.returncode == 1
    assert switches(calls) == switched_to(new) + switched_to(previous)
