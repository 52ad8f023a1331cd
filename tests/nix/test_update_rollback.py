"""The update step end to end: the pipeline's real update script, its recording stand-ins, and
the host's real relaymd-switch (from the whole-host evaluation) behind a stand-in ssh that runs
the remote command here. A failing probe leads to the rollback command; a passing one does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.nixos.pipeline import command_stdin
from tests.nix.test_deploy_gate import QUICK, RELAY_DNS
from tests.nix.test_host_eval import RELAY, host
from tests.support.deploy_gate import GATE_STUBS, fake_system, install_stubs, tailscale_status
from tests.unit.nixos.test_pipeline_scripts import (
    STUBS,
    assert_no_secret_in,
    relay_pipeline,
    run_script,
    secrets_for,
)

pytestmark = pytest.mark.nix

# ssh runs the remote command locally (its last argument); sudo and systemd-run pass through.
REMOTE_STUBS = {
    "ssh": STUBS["ssh"].split('case "$*" in')[0]
    + 'if [ -n "${SSH_DROPS:-}" ]; then exit 255; fi\nbash -c "${*: -1}"\n',
    "sudo": 'exec "$@"\n',
    "systemd-run": """printf "%s" "$(basename "$0")" >> "$STUB_LOG"
printf " %s" "$@" >> "$STUB_LOG"
echo >> "$STUB_LOG"
while [ "$1" != --wait ]; do shift; done
shift
exec "$@"
""",
}


def run_update(
    example_tree: Path, tmp_path: Path, status: str, **environment: str
) -> tuple[int, str, list[str], Path, Path]:
    bin_dir = tmp_path / "bin"
    install_stubs(bin_dir, {**STUBS, **GATE_STUBS, **REMOTE_STUBS})
    new = fake_system(
        tmp_path / "new-system", host(example_tree, RELAY, QUICK)["deployGate"]["script"]
    )
    previous = fake_system(tmp_path / "previous-system")
    (tmp_path / "status.json").write_text(status)
    relay, pipeline = relay_pipeline()
    update = pipeline.update
    stdin = command_stdin(update, secrets_for(relay))
    plain = {
        "STUB_SYSTEM": str(new),
        "TS_STATUS": str(tmp_path / "status.json"),
        "TS_IPS": "100.64.0.2",
        "PREVIOUS_SYSTEM": str(previous),
        "HEALTHZ_BODY": "",
        **environment,
    }
    result = run_script(update, bin_dir, tmp_path, stdin, plain)
    assert_no_secret_in(result.stderr)
    calls = (tmp_path / "argv.log").read_text().splitlines()
    return result.returncode, result.stderr, calls, new, previous


def switch_calls(calls: list[str]) -> list[str]:
    return [c for c in calls if c.startswith("nix-env") or "switch-to-configuration" in c]


def test_a_passing_probe_keeps_the_new_system(example_tree: Path, tmp_path: Path) -> None:
    status = tailscale_status("Running", RELAY_DNS, ["tag:relaymd-relay"])
    code, stderr, calls, new, previous = run_update(example_tree, tmp_path, status)
    assert code == 0, stderr
    assert switch_calls(calls) == [
        f"nix-env -p /nix/var/nix/profiles/system --set {new}",
        f"{new}/bin/switch-to-configuration switch",
    ]
    assert not any(str(previous) in call for call in calls if "readlink" not in call)
    [transient] = [c for c in calls if c.startswith("systemd-run")]
    assert "--unit=relaymd-switch --wait" in transient
    assert "switched; the host confirmed its health" in stderr


def test_a_failing_probe_leads_to_the_rollback_and_fails_the_step_naming_it(
    example_tree: Path, tmp_path: Path
) -> None:
    status = tailscale_status("Starting", "", [])
    code, stderr, calls, new, previous = run_update(example_tree, tmp_path, status)
    assert code == 1
    assert switch_calls(calls) == [
        f"nix-env -p /nix/var/nix/profiles/system --set {new}",
        f"{new}/bin/switch-to-configuration switch",
        f"nix-env -p /nix/var/nix/profiles/system --set {previous}",
        f"{previous}/bin/switch-to-configuration switch",
    ]
    assert (
        f"error: relaymd-relay is not healthy on {new}: tailscaled is Starting, not Running "
        "(still after 1 s); it switched back to its previous system"
    ) in stderr


def test_a_lost_connection_fails_the_step_and_says_the_host_decides(
    example_tree: Path, tmp_path: Path
) -> None:
    status = tailscale_status("Running", RELAY_DNS, ["tag:relaymd-relay"])
    code, stderr, _, _, _ = run_update(example_tree, tmp_path, status, SSH_DROPS="1")
    assert code == 1
    assert "error: relaymd-relay did not report back (a lost connection or a timeout" in stderr
    assert "it switched back" not in stderr
