"""Run the pipeline's real bash scripts against recording stand-ins for nix, ssh and nixos-anywhere.

The stand-ins only record their arguments (and what arrives on ssh's stdin) and print what
the real tool would print; nothing leaves the machine. Each script gets its stdin exactly as the
program builds it (tree and secrets in one archive) and a plain environment, and runs under
bash's xtrace, which shows every command and assignment with its expanded words. This proves the
scripts unpack the exact tree, stage root-only files with the right modes, and keep secrets off
every argv, the environment and the log.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from infra.config.hosts import SECRETS_DIR, Host, SecretSource, host_specs
from infra.config.loading import load_stack
from infra.config.secrets import StackSecrets
from infra.config.settings import NixosSettings
from infra.ground.contract import ENV_DEPLOY_PUBLIC_KEY, ENV_HOST_FILE_PATHS, ENV_SSH_HOST_KEY
from infra.nixos.pipeline import (
    STDIN_DEPLOY_KEY,
    STDIN_SSH_HOST_KEY,
    CommandSpec,
    HostPipeline,
    command_stdin,
    host_file_name,
    host_pipeline,
    private_key_file_content,
    secret_file_content,
    stdin_archive,
)
from tests.support.stacks import example_raw_config

SYSTEM = "/nix/store/00000000000000000000000000000000-nixos-system"
DISKO = "/nix/store/11111111111111111111111111111111-disko"
PRIVATE_KEY = "CANARY-private-deploy-key-aa01"
HOST_PRIVATE_KEY = "CANARY-private-host-key-dd04"
# A relay's host key as the program generates it (the component adds it to every command).
RELAY_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB078j5b7Sm3o2DRIL0CWzsJfF56zaJy3vcPu1qEupP7"
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
  if [ "$1" = -i ]; then
    cp "$2" "$CAPTURE/identity"
    stat -c '%a' "$2" "$(dirname "$2")" > "$CAPTURE/identity.modes"
  fi
  shift
done
""",
    "ssh": _RECORD
    + """previous=
for arg in "$@"; do
  if [ "$previous" = -i ]; then stat -c '%a' "$arg" > "$CAPTURE/ssh-identity.mode"; fi
  case "$arg" in
    UserKnownHostsFile=*) cp "${arg#UserKnownHostsFile=}" "$CAPTURE/known_hosts" ;;
  esac
  previous=$arg
done
if [ -n "${SSH_LOGIN_FAILS:-}" ]; then
  echo "admin@host: Permission denied (publickey)." >&2
  exit 255
fi
case "$*" in
  *"sudo -n true")
    # sudo(8) -n: "a password is required" instead of a prompt.
    if [ -n "${SUDO_NEEDS_PASSWORD:-}" ]; then
      echo "sudo: a password is required" >&2
      exit 1
    fi ;;
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


def example_hosts() -> tuple[dict[str, Host], NixosSettings, StackSecrets]:
    loaded = load_stack("example", example_raw_config())
    hosts = {host.kind: host for host in host_specs(loaded.config)}
    return hosts, loaded.config.nixos, loaded.secrets


def run_script(
    spec: CommandSpec,
    stubs: Path,
    tmp_path: Path,
    stdin: str,
    plain: Mapping[str, str],
    *,
    strace: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run the script as pulumi-command would: bash -c, the plain environment, stdin."""
    capture = tmp_path / "capture"
    capture.mkdir(exist_ok=True)
    environment = {
        "PATH": f"{stubs}:/usr/bin:/bin",
        "STUB_LOG": str(tmp_path / "argv.log"),
        "CAPTURE": str(capture),
        **STUB_ENVIRONMENT,
        ENV_SSH_HOST_KEY: RELAY_HOST_KEY,
        **spec.environment,
        **plain,
    }
    assert_no_secret_in(str(environment))
    # xtrace goes to its own file, so stderr stays exactly what the script logs.
    trace = os.open(tmp_path / "xtrace.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    command = ["/bin/bash", "-x", "-c", spec.script]
    if strace:
        # Every process's argv and environment, as the kernel saw them.
        log = str(tmp_path / "execve.log")
        command = ["strace", "-f", "-qq", "-v", "-s", "1000000", "-e", "trace=execve", "-o", log]
        command += ["/bin/bash", "-x", "-c", spec.script]
    try:
        result = subprocess.run(
            command,
            input=stdin,
            env={**environment, "BASH_XTRACEFD": str(trace)},
            pass_fds=(trace,),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(trace)
    (tmp_path / "stderr.log").write_text(result.stderr)
    return result


def run(
    spec: CommandSpec,
    stubs: Path,
    tmp_path: Path,
    secrets: Mapping[str, str],
    plain: Mapping[str, str] | None = None,
) -> Path:
    """Run with the stdin the program builds from ``secrets``; check nothing leaked."""
    result = run_script(spec, stubs, tmp_path, command_stdin(spec, secrets), plain or {})
    assert result.returncode == 0, result.stderr
    for log in ("argv.log", "stderr.log", "xtrace.log"):
        if (tmp_path / log).exists():
            assert_no_secret_in((tmp_path / log).read_text())
    # The trace is live, so the check above did see the script's commands.
    assert "+ set -euo pipefail" in (tmp_path / "xtrace.log").read_text()
    return tmp_path / "capture"


def secrets_for(host: Host) -> dict[str, str]:
    """Every secret the host's commands may receive, by its stdin name."""
    files = {
        host_file_name(f.source): secret_file_content(f.source, SECRET_VALUES[f.source])
        for f in host.secret_files
    }
    return {
        STDIN_DEPLOY_KEY: private_key_file_content(PRIVATE_KEY),
        STDIN_SSH_HOST_KEY: private_key_file_content(HOST_PRIVATE_KEY),
        **files,
    }


def assert_no_secret_in(text: str) -> None:
    leaked = [v for v in [PRIVATE_KEY, HOST_PRIVATE_KEY, *SECRET_VALUES.values()] if v in text]
    assert leaked == []


TREE = {"relaymd-relay/configuration.nix": "{ ... }: { }\n", "modules/disko.nix": "{ }\n"}


def relay_pipeline() -> tuple[Host, HostPipeline]:
    hosts, nixos, secrets = example_hosts()
    return hosts["relay"], host_pipeline(hosts["relay"], nixos, TREE, secrets)


def orchestrator_pipeline() -> tuple[Host, HostPipeline]:
    hosts, nixos, secrets = example_hosts()
    return hosts["orchestrator"], host_pipeline(hosts["orchestrator"], nixos, {}, secrets)


def test_install_stages_root_only_files_and_keeps_secrets_off_argv(
    stubs: Path, tmp_path: Path
) -> None:
    relay, pipeline = relay_pipeline()
    install = pipeline.install
    assert install is not None
    capture = run(
        install,
        stubs,
        tmp_path,
        secrets_for(relay),
        {ENV_DEPLOY_PUBLIC_KEY: "ssh-ed25519 AAAA deploy"},
    )
    argv = (tmp_path / "argv.log").read_text()
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
    # Exactly the host's files: the deploy key is not staged onto the relay.
    assert sorted(p for p in modes if p.startswith(secrets_dir + "/")) == [
        f"{secrets_dir}/tailscale-auth-key"
    ]
    staged = capture / "extra-files" / SECRETS_DIR.lstrip("/") / "tailscale-auth-key"
    assert staged.read_text() == SECRET_VALUES[SecretSource.TAILSCALE_HOST_KEY]
    assert (capture / "identity").read_text() == PRIVATE_KEY + "\n"
    # The deploy key was unpacked 0600 into a 0700 directory, as ssh insists.
    assert (capture / "identity.modes").read_text().split() == ["600", "700"]
    assert (capture / "ssh-identity.mode").read_text().strip() == "600"
    # The work directory (key, staged secrets) is gone once the script ends.
    assert not any(Path(p).exists() for p in argv.split() if p.startswith("/tmp/tmp."))


def test_update_copies_the_closure_and_switches_without_secrets(
    stubs: Path, tmp_path: Path
) -> None:
    relay, pipeline = relay_pipeline()
    capture = run(pipeline.update, stubs, tmp_path, secrets_for(relay))
    argv = (tmp_path / "argv.log").read_text()
    assert f"nix-copy-closure --to --use-substitutes admin@10.100.10.2 {SYSTEM}" in argv
    # The host switches, checks its health and switches back on failure in one transient
    # unit, so a dropped connection cannot stop it half-way (nixos-rebuild's systemd-run).
    [switch] = [line for line in argv.splitlines() if "relaymd-switch" in line]
    # A unit name of its own per attempt, and the attempt's name for the confirmation.
    found = re.search(
        r" admin@10\.100\.10\.2 sudo -n systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER"
        r" --collect --no-ask-password --pipe --quiet --service-type=exec"
        r" --unit=relaymd-switch-([0-9]{14}-[0-9]+-[0-9]+) --wait"
        rf" {SYSTEM}/sw/bin/relaymd-switch {SYSTEM} ([0-9]{{14}}-[0-9]+-[0-9]+)$",
        switch,
    )
    assert found is not None, switch
    assert found[1] == found[2]
    # Before anything is copied: may the SSH user use sudo without a password?
    lines = argv.splitlines()
    [check] = [n for n, line in enumerate(lines) if line.endswith("admin@10.100.10.2 sudo -n true")]
    [copy] = [n for n, line in enumerate(lines) if line.startswith("nix-copy-closure")]
    assert check < copy
    # Every ssh is a connection of its own, whatever the user's ssh_config multiplexes.
    assert all(
        "-o ControlMaster=no -o ControlPath=none" in line
        for line in lines
        if line.startswith("ssh ")
    )
    assert "switch-to-configuration" not in argv
    assert "nixos-anywhere" not in argv
    # The deploy key reaches nix-copy-closure's ssh as a file path, never as its value.
    assert "-i /tmp/" in (capture / "nix-sshopts").read_text()
    assert (capture / "ssh-identity.mode").read_text().strip() == "600"


def test_install_step_on_an_installed_relay_only_reports(stubs: Path, tmp_path: Path) -> None:
    relay, pipeline = relay_pipeline()
    install = pipeline.install
    assert install is not None and install.update_script is not None
    notice = CommandSpec(**{**install.__dict__, "script": install.update_script})
    run(notice, stubs, tmp_path, secrets_for(relay))
    assert not (tmp_path / "argv.log").exists()  # no nix, ssh or nixos-anywhere at all
    stderr = (tmp_path / "stderr.log").read_text()
    assert stderr == (
        "==> relaymd-relay: already installed; configuration changes reach it through the"
        " update step\n"
    )


def test_update_refuses_a_tree_without_the_hosts_configuration(stubs: Path, tmp_path: Path) -> None:
    hosts, nixos, secrets = example_hosts()
    relay = hosts["relay"]
    update = host_pipeline(relay, nixos, {"modules/disko.nix": "{ }\n"}, secrets).update
    stdin = command_stdin(update, secrets_for(relay))
    result = run_script(update, stubs, tmp_path, stdin, {})
    assert result.returncode == 1
    assert "no relaymd-relay/configuration.nix" in result.stderr
    assert_no_secret_in(result.stderr)


@pytest.mark.parametrize("step", ["install", "deliver_secrets", "update"])
def test_an_empty_stdin_stops_the_script_before_any_host_is_touched(
    stubs: Path, tmp_path: Path, step: str
) -> None:
    spec = getattr(relay_pipeline()[1], step)
    result = run_script(spec, stubs, tmp_path, "", {})
    assert result.returncode == 1
    assert "error: stdin is empty" in result.stderr
    assert not (tmp_path / "argv.log").exists()  # no nix, ssh or nixos-anywhere ran


def test_a_secret_missing_from_stdin_stops_the_delivery(stubs: Path, tmp_path: Path) -> None:
    orchestrator, pipeline = orchestrator_pipeline()
    deliver = pipeline.deliver_secrets
    # Only the Tailscale key: the token named in the manifest is not in the archive.
    name = host_file_name(SecretSource.TAILSCALE_HOST_KEY)
    stdin = stdin_archive({}, {name: secrets_for(orchestrator)[name]})
    result = run_script(deliver, stubs, tmp_path, stdin, {})
    assert result.returncode == 1
    token = SecretSource.ORCHESTRATOR_INFISICAL_TOKEN.value
    assert f"stdin carries no host file {token}" in result.stderr
    assert_no_secret_in(result.stderr)


@pytest.mark.parametrize(
    ("name", "refusal"),
    [
        (STDIN_DEPLOY_KEY, f"stdin carries no host file {STDIN_DEPLOY_KEY}"),
        (f"../{STDIN_DEPLOY_KEY}", f"'../{STDIN_DEPLOY_KEY}' is not a host file name"),
    ],
)
def test_a_manifest_name_outside_the_host_files_is_refused(
    stubs: Path, tmp_path: Path, name: str, refusal: str
) -> None:
    """A manifest naming another file of stdin (the deploy key) must not deliver it to the host."""
    relay, pipeline = relay_pipeline()
    deliver = pipeline.deliver_secrets
    spec = CommandSpec(
        **{
            **deliver.__dict__,
            "environment": {
                **deliver.environment,
                ENV_HOST_FILE_PATHS: f"{name} {SECRETS_DIR}/stolen\n",
            },
        }
    )
    result = run_script(spec, stubs, tmp_path, command_stdin(spec, secrets_for(relay)), {})
    assert result.returncode == 1
    assert refusal in result.stderr
    assert not list((tmp_path / "capture").glob("stdin-*"))


def test_orchestrator_secrets_travel_on_ssh_stdin_only(stubs: Path, tmp_path: Path) -> None:
    orchestrator, pipeline = orchestrator_pipeline()
    deliver = pipeline.deliver_secrets
    capture = run(deliver, stubs, tmp_path, secrets_for(orchestrator))
    argv = (tmp_path / "argv.log").read_text()
    assert f"sudo -n install -d -m 0700 -o root -g root {SECRETS_DIR}" in argv
    assert argv.count("chmod 0600") == 2
    assert argv.count("chown root:root") == 2
    delivered = sorted((capture / f"stdin-{n}").read_text() for n in range(2))
    files = secrets_for(orchestrator)
    assert delivered == sorted(files[host_file_name(f.source)] for f in orchestrator.secret_files)
    assert not (capture / "stdin-2").exists()
    # The operator's own SSH agent logs in: no -i, and the relay deploy key never arrives.
    assert " -i " not in argv
    assert not (capture / "ssh-identity.mode").exists()


def test_relay_secrets_travel_on_ssh_stdin_with_the_deploy_key(stubs: Path, tmp_path: Path) -> None:
    relay, pipeline = relay_pipeline()
    capture = run(pipeline.deliver_secrets, stubs, tmp_path, secrets_for(relay))
    argv = (tmp_path / "argv.log").read_text()
    ssh_lines = [line for line in argv.splitlines() if line.startswith("ssh ")]
    assert ssh_lines and all("-o IdentitiesOnly=yes" in line for line in ssh_lines)
    assert all("admin@10.100.10.2" in line for line in ssh_lines)
    assert (capture / "stdin-0").read_text() == SECRET_VALUES[SecretSource.TAILSCALE_HOST_KEY]
    assert not (capture / "stdin-1").exists()  # one file: the relay runs no Infisical Relay
    # Written 0600 root under a new name, then renamed into place.
    [write] = [line for line in ssh_lines if "cat > " in line]
    assert "umask 077" in write and "chmod 0600" in write and "mv -f" in write


def _strace_works() -> bool:
    if shutil.which("strace") is None:
        return False
    probe = subprocess.run(
        ["strace", "-qq", "-e", "trace=execve", "-o", "/dev/null", "/bin/true"],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.parametrize("step", ["install", "deliver_secrets", "update"])
def test_no_process_sees_a_secret_in_its_argv_or_environment(
    stubs: Path, tmp_path: Path, step: str
) -> None:
    """strace records every execve (cp, tar, ssh, nix...): argv and environment both clean."""
    if not _strace_works():
        pytest.skip("strace is not installed or ptrace is not permitted here")
    relay, pipeline = relay_pipeline()
    spec = getattr(pipeline, step)
    stdin = command_stdin(spec, secrets_for(relay))
    plain = {ENV_DEPLOY_PUBLIC_KEY: "ssh-ed25519 AAAA deploy"}
    result = run_script(spec, stubs, tmp_path, stdin, plain, strace=True)
    assert result.returncode == 0, result.stderr
    execs = (tmp_path / "execve.log").read_text()
    # Not vacuous: the stand-ins and the file tools did run under the trace.
    assert 'execve("/usr/bin/tar"' in execs or 'execve("/bin/tar"' in execs
    assert '/ssh"' in execs
    assert_no_secret_in(execs)


def test_install_ships_the_generated_host_key_as_sshd_s_own(stubs: Path, tmp_path: Path) -> None:
    relay, pipeline = relay_pipeline()
    assert pipeline.install is not None
    plain = {ENV_DEPLOY_PUBLIC_KEY: "ssh-ed25519 AAAA deploy"}
    capture = run(pipeline.install, stubs, tmp_path, secrets_for(relay), plain)
    modes = dict(
        reversed(line.split(" ", 1))
        for line in (capture / "extra-files.modes").read_text().splitlines()
    )
    assert modes["./etc/ssh"] == "755"
    assert modes["./etc/ssh/ssh_host_ed25519_key"] == "600"
    assert modes["./etc/ssh/ssh_host_ed25519_key.pub"] == "644"
    staged = capture / "extra-files" / "etc" / "ssh"
    assert (staged / "ssh_host_ed25519_key").read_text() == HOST_PRIVATE_KEY + "\n"
    assert (staged / "ssh_host_ed25519_key.pub").read_text() == RELAY_HOST_KEY + "\n"


@pytest.mark.parametrize("step", ["install", "deliver_secrets", "update"])
def test_every_relay_connection_checks_the_generated_host_key(
    stubs: Path, tmp_path: Path, step: str
) -> None:
    relay, pipeline = relay_pipeline()
    plain = {ENV_DEPLOY_PUBLIC_KEY: "ssh-ed25519 AAAA deploy"}
    capture = run(getattr(pipeline, step), stubs, tmp_path, secrets_for(relay), plain)
    argv = (tmp_path / "argv.log").read_text()
    ssh_lines = [line for line in argv.splitlines() if line.startswith("ssh ")]
    assert ssh_lines
    for line in ssh_lines:
        assert "-o StrictHostKeyChecking=yes" in line
        assert "-o GlobalKnownHostsFile=/dev/null" in line
        assert "-o HostKeyAlgorithms=ssh-ed25519" in line
    assert "accept-new" not in argv and "StrictHostKeyChecking=no" not in argv
    assert (capture / "known_hosts").read_text() == f"10.100.10.2 {RELAY_HOST_KEY}\n"
    if step == "update":
        assert "StrictHostKeyChecking=yes" in (capture / "nix-sshopts").read_text()


def test_the_orchestrator_is_checked_against_its_configured_host_key(
    stubs: Path, tmp_path: Path
) -> None:
    raw = example_raw_config()
    raw["orchestrator"]["ssh_port"] = 2202
    loaded = load_stack("example", raw)
    orchestrator = next(h for h in host_specs(loaded.config) if h.kind == "orchestrator")
    deliver = host_pipeline(orchestrator, loaded.config.nixos, {}, loaded.secrets).deliver_secrets
    key = raw["orchestrator"]["ssh_host_key"]
    assert deliver.environment[ENV_SSH_HOST_KEY] == key
    capture = run(deliver, stubs, tmp_path, secrets_for(orchestrator))
    assert (capture / "known_hosts").read_text() == (f"[orchestrator.lab.example.org]:2202 {key}\n")
    argv = (tmp_path / "argv.log").read_text()
    assert all("-o StrictHostKeyChecking=yes" in line for line in argv.splitlines())


@pytest.mark.parametrize("step", ["install", "deliver_secrets", "update"])
def test_without_a_host_key_nothing_connects(stubs: Path, tmp_path: Path, step: str) -> None:
    relay, pipeline = relay_pipeline()
    spec = getattr(pipeline, step)
    stdin = command_stdin(spec, secrets_for(relay))
    result = run_script(spec, stubs, tmp_path, stdin, {ENV_SSH_HOST_KEY: ""})
    assert result.returncode == 1
    assert "no host key to check admin@10.100.10.2 against" in result.stderr
    assert not (tmp_path / "argv.log").exists()


@pytest.mark.parametrize("step", ["update", "deliver_secrets"])
@pytest.mark.parametrize(
    ("fault", "named"),
    [
        (
            "SUDO_NEEDS_PASSWORD",
            "error: admin on admin@10.100.10.2 cannot run sudo without a password "
            "(sudo -n true: sudo: a password is required); nothing was changed.",
        ),
        (
            "SSH_LOGIN_FAILS",
            "error: cannot log in to admin@10.100.10.2 over SSH: admin@host: Permission denied "
            "(publickey).; nothing was changed",
        ),
    ],
)
def test_a_host_that_refuses_the_login_or_sudo_is_named_before_anything_changes(
    stubs: Path, tmp_path: Path, step: str, fault: str, named: str
) -> None:
    relay, pipeline = relay_pipeline()
    spec = getattr(pipeline, step)
    stdin = command_stdin(spec, secrets_for(relay))
    result = run_script(spec, stubs, tmp_path, stdin, {fault: "1"})
    assert result.returncode == 1
    assert named in result.stderr
    argv = (tmp_path / "argv.log").read_text().splitlines()
    # One look at the host, and nothing after it: no copy, no file, no switch (the update may
    # have built the closure here, which changes nothing there).
    touching = [line for line in argv if line.startswith(("ssh ", "nix-copy-closure "))]
    assert [line.rsplit(" ", 3)[-3:] for line in touching] == [["sudo", "-n", "true"]]


def test_a_root_login_needs_no_sudo(stubs: Path, tmp_path: Path) -> None:
    orchestrator, pipeline = orchestrator_pipeline()
    spec = pipeline.deliver_secrets
    root = {**spec.environment, "RELAYMD_SSH_TARGET": "root@orchestrator.lab.example.org"}
    result = run_script(spec, stubs, tmp_path, command_stdin(spec, secrets_for(orchestrator)), root)
    assert result.returncode == 0, result.stderr
    argv = (tmp_path / "argv.log").read_text()
    assert "root@orchestrator.lab.example.org command true" in argv
    assert "sudo" not in argv
