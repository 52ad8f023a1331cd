"""No key on a command line: the evaluated unit scripts run against recording stand-ins, with
canary values in their files.

- tailscaled-autoconnect (tailnet-node.nix replaces upstream's script): the host's auth key goes
  as `--auth-key=file:<path>`, read by tailscale itself. Control: upstream's own script, as
  transcribed (tests/support/nix/upstream/tailscale.nix), puts the key on `tailscale up`'s argv.
- infisical-relay: Infisical/cli takes the enrollment token only from --token, so it is on argv
  exactly when the relay enrolls with a token it has not stored yet, and never otherwise.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.nix.test_host_eval import RELAY, host
from tests.support.deploy_gate import RECORD, install_stubs, run_unit_script
from tests.support.nixeval import evaluate_host

pytestmark = pytest.mark.nix

KEY = "CANARY-tailscale-auth-key-5e11"
TOKEN = "CANARY-enrollment-token-77ab"
ACCESS = "CANARY-stored-access-token-0c0d"

# tailscale v1.98.5: `status --json` (BackendState), `up` logs the node in (NeedsLogin → Running).
TAILSCALE = (
    RECORD
    + """case "$1" in
  status) printf '{"BackendState": "%s"}\\n' "$(cat "$STATE")" ;;
  up) echo Running > "$STATE" ;;
esac
"""
)


def run_autoconnect(script: str, tmp_path: Path) -> str:
    bin_dir = tmp_path / "bin"
    install_stubs(bin_dir, {"tailscale": TAILSCALE, "systemd-notify": RECORD})
    (tmp_path / "state").write_text("NeedsLogin\n")
    result = run_unit_script(
        script,
        {
            "PATH": f"{bin_dir}:/usr/bin:/bin",
            "STUB_LOG": str(tmp_path / "argv.log"),
            "STATE": str(tmp_path / "state"),
        },
    )
    assert result.returncode == 0, result.stderr
    argv = (tmp_path / "argv.log").read_text()
    assert "systemd-notify --ready" in argv
    return argv


def key_file_module(key_file: Path) -> str:
    return f'{{ lib, ... }}: {{ relaymd.tailnet.authKeyFile = lib.mkForce "{key_file}"; }}'


def test_autoconnect_keeps_the_auth_key_off_every_command_line(
    example_tree: Path, tmp_path: Path
) -> None:
    key_file = tmp_path / "tailscale-auth-key"
    key_file.write_text(KEY + "\n")
    script = host(example_tree, RELAY, key_file_module(key_file))["services"][
        "tailscaled-autoconnect"
    ]["script"]
    argv = run_autoconnect(script, tmp_path)
    assert f"tailscale up --auth-key=file:{key_file} --hostname=relaymd-relay" in argv
    assert KEY not in argv


UPSTREAM_ONLY = """{ ... }: {
  networking.hostName = "plain";
  system.stateVersion = "26.05";
  nixpkgs.hostPlatform = "x86_64-linux";
  fileSystems."/" = { device = "/dev/vda1"; fsType = "ext4"; };
  boot.loader.grub.devices = [ "nodev" ];
  services.tailscale = {
    enable = true;
    authKeyFile = "KEY_FILE";
    extraUpFlags = [ "--hostname=plain" ];
  };
}
"""


def test_control_upstreams_autoconnect_puts_the_key_on_the_command_line(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "tailscale-auth-key"
    key_file.write_text(KEY + "\n")
    configuration = tmp_path / "configuration.nix"
    configuration.write_text(UPSTREAM_ONLY.replace("KEY_FILE", str(key_file)))
    evaluated = evaluate_host(configuration)
    script = evaluated["services"]["tailscaled-autoconnect"]["script"]
    argv = run_autoconnect(script, tmp_path)
    assert f"tailscale up --auth-key {KEY} --hostname=plain" in argv


# Infisical/cli v0.43.121 packages/relay/enroll.go: KEY=value lines in the relay's conf,
# written once the enrollment succeeded.
INFISICAL = RECORD + "exit 0\n"


def run_relay_start(tree: Path, tmp_path: Path, conf: str | None) -> str:
    conf_file = tmp_path / "relay-1.conf"
    if conf is not None:
        conf_file.write_text(conf)
    script: str = host(tree, RELAY)["services"]["infisical-relay"]["script"]
    stored = "/etc/infisical/relays/relay-1.conf"
    assert stored in script
    bin_dir = tmp_path / "bin"
    install_stubs(bin_dir, {"infisical": INFISICAL})
    # The store path of the CLI becomes the stand-in; the conf path, the test's file.
    script = script.replace(stored, str(conf_file))
    script = "\n".join(
        line.replace(line.split()[1], str(bin_dir / "infisical"))
        if line.strip().startswith("exec ")
        else line
        for line in script.splitlines()
    )
    result = run_unit_script(
        script,
        {
            "PATH": "/usr/bin:/bin",
            "STUB_LOG": str(tmp_path / "argv.log"),
            "INFISICAL_RELAY_ENROLLMENT_TOKEN": TOKEN,
        },
    )
    assert result.returncode == 0, result.stderr
    return (tmp_path / "argv.log").read_text()


@pytest.mark.parametrize(
    ("conf", "enrolls"),
    [
        (None, True),
        (f"INFISICAL_RELAY_ENROLLMENT_TOKEN={TOKEN}\n", True),
        (
            f"INFISICAL_RELAY_ENROLLMENT_TOKEN={TOKEN}\nINFISICAL_RELAY_ACCESS_TOKEN={ACCESS}\n",
            False,
        ),
        (
            "INFISICAL_RELAY_ENROLLMENT_TOKEN=CANARY-an-older-token\n"
            f"INFISICAL_RELAY_ACCESS_TOKEN={ACCESS}\n",
            True,
        ),
    ],
    ids=["first start", "no access token stored", "enrolled with this token", "new token"],
)
def test_the_enrollment_token_is_on_argv_only_while_the_relay_enrolls(
    full_tree: Path, tmp_path: Path, conf: str | None, enrolls: bool
) -> None:
    argv = run_relay_start(full_tree, tmp_path, conf)
    assert argv.startswith("infisical relay start --type=org")
    assert (f"--token={TOKEN}" in argv) is enrolls
    # What the CLI stored never leaves its file.
    assert ACCESS not in argv


@pytest.mark.parametrize(
    ("tree", "name", "script"),
    [
        ("example_tree", RELAY, "autoconnect"),
        ("example_tree", "relaymd-orchestrator", "container check"),
        ("full_tree", RELAY, "infisical relay"),
    ],
)
def test_the_scripts_pass_shellcheck_as_their_builders_require(
    tree: str, name: str, script: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Autoconnect has enableStrictShellChecks and the container check is a
    writeShellApplication: the build runs shellcheck on both (the relay's start, likewise)."""
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    evaluated = host(request.getfixturevalue(tree), name)
    text = {
        "autoconnect": lambda: evaluated["services"]["tailscaled-autoconnect"]["script"],
        "container check": lambda: evaluated["orchestratorTailnetCheck"],
        "infisical relay": lambda: evaluated["services"]["infisical-relay"]["script"],
    }[script]()
    path = tmp_path / "script.sh"
    path.write_text("#!/usr/bin/env bash\nset -euo pipefail\n" + text)
    result = subprocess.run(["shellcheck", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
