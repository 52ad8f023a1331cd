"""Run the pipeline's real bash scripts against recording stand-ins for nix, ssh and nixos-anywhere.

The stand-ins only record their arguments (and what arrives on ssh's stdin) and print what
the real tool would print; nothing leaves the machine. This proves the scripts unpack the
exact tree, stage root-only files with the right modes, and keep secrets off every argv.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from infra.config import NixosSettings
from infra.hosts import SECRETS_DIR, HostSpec, SecretSource
from infra.nixos.pipeline import (
    ENV_DEPLOY_PUBLIC_KEY,
    ENV_SSH_PRIVATE_KEY,
    CommandSpec,
    host_pipeline,
    secret_file_content,
    secret_variable,
)
from infra.stack_loader import load_stack
from tests.support.stacks import example_raw_config

SYSTEM = "/nix/store/00000000000000000000000000000000-nixos-system"
DISKO = "/nix/store/11111111111111111111111111111111-disko"
PRIVATE_KEY = "CANARY-private-deploy-key-aa01"
SECRET_VALUES = {
    SecretSource.TAILSCALE_HOST_KEY: "CANARY-tailscale-host-key-bb02",
    SecretSource.ORCHESTRATOR_INFISICAL_TOKEN: "CANARY-infisical-token-cc03",
}

# Each stand-in appends "name arg arg ..." (one line) to $STUB_LOG.
_RECORD = """printf "%s" "$(basename "$0")" >> "$STUB_LOG"
printf " %s" "$@" >> "$STUB_LOG"
echo >> "$STUB_LOG"
"""
STUBS = {
    "nix-instantiate": _RECORD + "echo '\"/nix/store/22222222222222222222222222222222-nixpkgs\"'\n",
    "nix-build": _RECORD
    + """for arg in "$@"; do
  case "$arg" in nixos-config=*) cp "${arg#nixos-config=}" "$CAPTURE/built-config.nix" ;; esac
done
case "$*" in *diskoScript*) echo "$STUB_DISKO" ;; *) echo "$STUB_SYSTEM" ;; esac
""",
    "nixos-anywhere": _RECORD
    + """while [ $# -gt 0 ]; do
  if [ "$1" = --extra-files ]; then
    (cd "$2" && find . -mindepth 1 -printf '%m %p\\n' | sort) > "$CAPTURE/extra-files.modes"
    cp -a "$2" "$CAPTURE/extra-files"
  fi
  if [ "$1" = -i ]; then cp "$2" "$CAPTURE/identity"; fi
  shift
done
""",
    "ssh": _RECORD
    + """case "$*" in
  *"readlink /run/current-system"*) echo "$STUB_SYSTEM" ;;
  *"cat > "*) n=$(ls "$CAPTURE" | grep -c '^stdin-' || true); cat > "$CAPTURE/stdin-$n" ;;
esac
""",
    "nix-copy-closure": _RECORD + 'printf "%s\\n" "$NIX_SSHOPTS" > "$CAPTURE/nix-sshopts"\n',
}
STUB_ENVIRONMENT = {"STUB_SYSTEM": SYSTEM, "STUB_DISKO": DISKO}


@pytest.fixture
def stubs(tmp_path: Path) -> Path:
    directory = tmp_path / "bin"
    directory.mkdir()
    for name, body in STUBS.items():
        path = directory / name
        path.write_text("#!/bin/bash\nset -eu\n" + body)
        path.chmod(0o755)
    return directory


def example_hosts() -> tuple[dict[str, HostSpec], NixosSettings]:
    from infra.core import build_stack_model

    model = build_stack_model(load_stack("example", example_raw_config()).config)
    return {host.role.value: host for host in model.hosts}, model.config.nixos


def run(script: CommandSpec, stubs: Path, tmp_path: Path, extra: dict[str, str]) -> Path:
    capture = tmp_path / "capture"
    capture.mkdir()
    environment = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "STUB_LOG": str(tmp_path / "argv.log"),
        "CAPTURE": str(capture),
        **STUB_ENVIRONMENT,
        **script.environment,
        **extra,
    }
    result = subprocess.run(
        ["/bin/bash", "-c", script.script],
        input=script.stdin or "",
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (tmp_path / "stderr.log").write_text(result.stderr)
    return capture


def secrets_for(host: HostSpec) -> dict[str, str]:
    return {
        secret_variable(f.source): secret_file_content(f.source, SECRET_VALUES[f.source])
        for f in host.secret_files
    }


def assert_no_secret_in(text: str) -> None:
    leaked = [v for v in [PRIVATE_KEY, *SECRET_VALUES.values()] if v in text]
    assert leaked == []


TREE = {"relaymd-relay/configuration.nix": "{ ... }: { }\n", "modules/disko.nix": "{ }\n"}


def test_install_stages_root_only_files_and_keeps_secrets_off_argv(
    stubs: Path, tmp_path: Path
) -> None:
    hosts, nixos = example_hosts()
    relay = hosts["relay"]
    install = host_pipeline(relay, nixos, TREE).install
    assert install is not None
    capture = run(
        install,
        stubs,
        tmp_path,
        {
            **secrets_for(relay),
            ENV_SSH_PRIVATE_KEY: PRIVATE_KEY,
            ENV_DEPLOY_PUBLIC_KEY: "ssh-ed25519 AAAA deploy",
        },
    )
    argv = (tmp_path / "argv.log").read_text()
    assert_no_secret_in(argv)
    assert_no_secret_in((tmp_path / "stderr.log").read_text())
    assert (capture / "built-config.nix").read_text() == TREE["relaymd-relay/configuration.nix"]
    [anywhere] = [line for line in argv.splitlines() if line.startswith("nixos-anywhere ")]
    assert f"--store-paths {DISKO} {SYSTEM}" in anywhere
    assert "--phases kexec,disko,install,reboot" in anywhere
    assert anywhere.endswith(" admin@10.100.10.2")
    secrets_dir = "./" + SECRETS_DIR.lstrip("/")
    modes = dict(
        reversed(line.split(" ", 1))
        for line in (capture / "extra-files.modes").read_text().splitlines()
    )
    assert modes["./var"] == modes["./var/lib"] == "755"
    assert modes[secrets_dir] == "700"
    assert modes[f"{secrets_dir}/tailscale-auth-key"] == "600"
    assert modes["./etc/ssh/relaymd-deploy-keys/admin"] == "644"
    staged = capture / "extra-files" / SECRETS_DIR.lstrip("/") / "tailscale-auth-key"
    assert staged.read_text() == SECRET_VALUES[SecretSource.TAILSCALE_HOST_KEY]
    assert (capture / "identity").read_text() == PRIVATE_KEY + "\n"
    # The work directory (key, staged secrets) is gone once the script ends.
    assert not any(Path(p).exists() for p in argv.split() if p.startswith("/tmp/tmp."))


def test_update_copies_the_closure_and_switches_without_secrets(
    stubs: Path, tmp_path: Path
) -> None:
    hosts, nixos = example_hosts()
    relay = hosts["relay"]
    update = host_pipeline(relay, nixos, TREE).update
    run(update, stubs, tmp_path, {ENV_SSH_PRIVATE_KEY: PRIVATE_KEY})
    argv = (tmp_path / "argv.log").read_text()
    assert_no_secret_in(argv)
    assert f"nix-copy-closure --to --use-substitutes admin@10.100.10.2 {SYSTEM}" in argv
    assert f"sudo {SYSTEM}/bin/switch-to-configuration switch" in argv
    assert "nixos-anywhere" not in argv


def test_install_step_on_an_installed_relay_only_reports(stubs: Path, tmp_path: Path) -> None:
    hosts, nixos = example_hosts()
    relay = hosts["relay"]
    install = host_pipeline(relay, nixos, TREE).install
    assert install is not None and install.update_script is not None
    notice = CommandSpec(**{**install.__dict__, "script": install.update_script})
    run(notice, stubs, tmp_path, {**secrets_for(relay), ENV_SSH_PRIVATE_KEY: PRIVATE_KEY})
    assert not (tmp_path / "argv.log").exists()  # no nix, ssh or nixos-anywhere at all
    stderr = (tmp_path / "stderr.log").read_text()
    assert stderr == (
        "==> relaymd-relay: already installed; configuration changes reach it through the"
        " update step\n"
    )


def test_update_refuses_a_tree_without_the_hosts_configuration(stubs: Path, tmp_path: Path) -> None:
    hosts, nixos = example_hosts()
    update = host_pipeline(hosts["relay"], nixos, {"modules/disko.nix": "{ }\n"}).update
    result = subprocess.run(
        ["/bin/bash", "-c", update.script],
        input=update.stdin,
        env={
            "PATH": f"{stubs}:/usr/bin:/bin",
            "STUB_LOG": str(tmp_path / "log"),
            **update.environment,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "no relaymd-relay/configuration.nix" in result.stderr


def test_orchestrator_secrets_travel_on_ssh_stdin_only(stubs: Path, tmp_path: Path) -> None:
    hosts, nixos = example_hosts()
    orchestrator = hosts["orchestrator"]
    deliver = host_pipeline(orchestrator, nixos, {}).deliver_secrets
    assert deliver is not None
    capture = run(deliver, stubs, tmp_path, secrets_for(orchestrator))
    argv = (tmp_path / "argv.log").read_text()
    assert_no_secret_in(argv)
    assert f"sudo install -d -m 0700 -o root -g root {SECRETS_DIR}" in argv
    assert argv.count("chmod 0600") == 2
    delivered = sorted((capture / f"stdin-{n}").read_text() for n in range(2))
    assert delivered == sorted(secrets_for(orchestrator).values())
    assert os.path.exists(capture / "stdin-1")


def test_relay_secrets_travel_on_ssh_stdin_with_the_deploy_key(stubs: Path, tmp_path: Path) -> None:
    hosts, nixos = example_hosts()
    relay = hosts["relay"]
    deliver = host_pipeline(relay, nixos, TREE).deliver_secrets
    capture = run(
        deliver, stubs, tmp_path, {**secrets_for(relay), ENV_SSH_PRIVATE_KEY: PRIVATE_KEY}
    )
    argv = (tmp_path / "argv.log").read_text()
    assert_no_secret_in(argv)
    assert_no_secret_in((tmp_path / "stderr.log").read_text())
    ssh_lines = [line for line in argv.splitlines() if line.startswith("ssh ")]
    assert ssh_lines and all("-o IdentitiesOnly=yes" in line for line in ssh_lines)
    assert all("admin@10.100.10.2" in line for line in ssh_lines)
    assert (capture / "stdin-0").read_text() == SECRET_VALUES[SecretSource.TAILSCALE_HOST_KEY]
    assert not (capture / "stdin-1").exists()  # one file: the relay runs no Infisical Relay
