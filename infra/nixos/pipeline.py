"""The NixOS install/update pipeline, decided without Pulumi or I/O.

For each host: which commands run (install for a new relay VM, secret delivery for the
orchestrator, update for both), their scripts, the non-secret environment variables they read,
what their stdin archive holds (the rendered tree and the named secrets), and the trigger values
that make them run again.

Secrets travel only inside stdin: Pulumi marks a whole ``environment`` map secret as soon as one
value in it is, which would hide the SSH target, the file manifest and the pin from reviewers.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import posixpath
import re
import tarfile
from base64 import b64encode
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from pydantic import SecretStr

from infra.config.hosts import SECRETS_DIR, Host, OrchestratorHost, RelayHost, SecretSource
from infra.config.secrets import StackSecrets
from infra.config.settings import NixosSettings
from infra.ground.contract import (
    ENV_BOOT_WAIT,
    ENV_BUILD_TIMEOUT,
    ENV_COPY_TIMEOUT,
    ENV_HOST,
    ENV_HOST_FILE_PATHS,
    ENV_INSTALL_TIMEOUT,
    ENV_NIXPKGS_SHA256,
    ENV_NIXPKGS_URL,
    ENV_SECRETS_DIR,
    ENV_SSH_HOST_KEY,
    ENV_SSH_PORT,
    ENV_SSH_TARGET,
    ENV_SSH_TIMEOUT,
    ENV_SWITCH_TIMEOUT,
    INSTALL_STEP,
    SECRETS_STEP,
    UPDATE_STEP,
)
from infra.nixos.scripts import Step, step_script

# Each step's own limits, in seconds (the RELAYMD_*_SECONDS variables).
BUILD_TIMEOUT_S = 3600
INSTALL_TIMEOUT_S = 3600
COPY_TIMEOUT_S = 3600
SWITCH_TIMEOUT_S = 2400
SSH_TIMEOUT_S = 120
BOOT_WAIT_S = 900
# Secrets are files inside stdin (``secrets/<name>``), never variables: these are their names.
STDIN_DEPLOY_KEY = "deploy-key"
"""A relay's SSH private key, the file ssh and nixos-anywhere read with ``-i``."""
STDIN_SSH_HOST_KEY = "ssh-host-key"
"""A relay's SSH host key (private half), staged by the install as /etc/ssh/ssh_host_ed25519_key."""
STDIN_HOST_FILES_DIR = "host"
"""``secrets/host/<name>``: the content of a root-only file the host receives."""

# Top-level directories of a command's stdin archive; the scripts unpack it under these names.
STDIN_TREE_DIR = "tree"
STDIN_SECRETS_DIR = "secrets"
_TREE_FILE_MODE = 0o644
_SECRET_FILE_MODE = 0o600


# Environment files read by systemd units; the Tailscale key file holds the bare key.
_ENV_FILE_VARIABLE = {
    SecretSource.ORCHESTRATOR_INFISICAL_TOKEN: "INFISICAL_TOKEN",
    # The Infisical CLI's own name for a relay's one-time enrollment token.
    SecretSource.INFISICAL_RELAY_TOKEN: "INFISICAL_RELAY_ENROLLMENT_TOKEN",
}


class DeployTimeSecret(StrEnum):
    """A secret that exists only once a resource does: the components supply its value."""

    TAILSCALE_AUTH_KEY = "tailscale-auth-key"
    """The host's own single-use key, minted by the Tailnet component (the file holds it bare)."""
    DEPLOY_KEY = "deploy-key"
    """A relay VM's deploy key, minted with the RelayVm (an OpenSSH private key file)."""
    SSH_HOST_KEY = "ssh-host-key"
    """A relay VM's own SSH host key, minted with the RelayVm (an OpenSSH private key file)."""


StdinSecret = SecretStr | DeployTimeSecret
"""What a ``secrets/<name>`` file of stdin holds: its content, or which deploy-time value."""


class JoinsTailnet(StrEnum):
    """When a host first appears on the tailnet, which orders its tailnet lookups."""

    AT_INSTALL = "install"
    """A new relay joins with its install: lookups wait for it, and its switches for them."""
    AT_SWITCH = "switch"
    """The orchestrator joins with its first switch: lookups wait for that switch."""


def environment_file(variables: Mapping[str, str]) -> str:
    """``NAME=value`` lines; a value spanning lines would smuggle in another variable."""
    for name, value in variables.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"the value of {name} must be a single line")
    return "".join(f"{name}={value}\n" for name, value in variables.items())


def orchestrator_environment(secrets: StackSecrets) -> str:
    """The orchestrator's root-only environment file: its Infisical identity and, when set,
    the registry login RelayMD reads only from its own environment (``slurm.py``)."""
    orchestrator = secrets.orchestrator
    variables = {"INFISICAL_TOKEN": orchestrator.infisical_token.get_secret_value()}
    if orchestrator.apptainer_docker_username and orchestrator.apptainer_docker_password:
        variables["APPTAINER_DOCKER_USERNAME"] = (
            orchestrator.apptainer_docker_username.get_secret_value()
        )
        variables["APPTAINER_DOCKER_PASSWORD"] = (
            orchestrator.apptainer_docker_password.get_secret_value()
        )
    return environment_file(variables)


def host_file_name(source: SecretSource) -> str:
    """The name a root-only file's content travels under: ``secrets/host/<name>``."""
    return f"{STDIN_HOST_FILES_DIR}/{source.value}"


def secret_file_content(source: SecretSource, value: str) -> str:
    """What lands in the file: the bare key, or ``NAME=value`` for an environment file."""
    variable = _ENV_FILE_VARIABLE.get(source)
    return value if variable is None else f"{variable}={value}\n"


def private_key_file_content(private_key: str) -> str:
    """An OpenSSH private key file (deploy key, host key): ssh and sshd want the final newline,
    and one is enough."""
    return private_key if private_key.endswith("\n") else private_key + "\n"


def _checked_path(path: str) -> str:
    normal = posixpath.normpath(path)
    if path != normal or normal.startswith(("/", "..")) or normal == ".":
        raise ValueError(f"rendered NixOS path {path!r} must be relative and normalised")
    return normal


def _secret_name(name: str) -> str:
    # The scripts look these up as plain file names: no "..", nothing a shell pattern could hide.
    if re.fullmatch(rf"({STDIN_HOST_FILES_DIR}/)?[a-z0-9][a-z0-9-]*", name) is None:
        raise ValueError(f"secret name {name!r} must be a file name of a-z, 0-9 and '-'")
    return name


def stdin_archive(tree: Mapping[str, str], secrets: Mapping[str, str]) -> str:
    """A byte-stable, base64 .tar.gz: ``tree/<path>`` files and ``secrets/<NAME>`` files.

    Same text in, same archive out: sorted entries, mtime 0, owner 0:0, fixed modes and a
    gzip header without a timestamp. Only file entries: the scripts unpack under ``umask 077``,
    so every directory tar creates is 0700.
    """
    entries = [
        (f"{STDIN_TREE_DIR}/{_checked_path(path)}", tree[path], _TREE_FILE_MODE)
        for path in sorted(tree)
    ]
    entries += [
        (f"{STDIN_SECRETS_DIR}/{_secret_name(name)}", secrets[name], _SECRET_FILE_MODE)
        for name in sorted(secrets)
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as archive:
        for name, text, mode in entries:
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.mtime = 0
            archive.addfile(info, io.BytesIO(data))
    return b64encode(gzip.compress(buffer.getvalue(), mtime=0)).decode("ascii")


def configuration_hash(tree: Mapping[str, str], nixos: NixosSettings) -> str:
    """Changes exactly when what would be built changes: the text or the pinned nixpkgs."""
    document = {
        "files": {_checked_path(path): tree[path] for path in sorted(tree)},
        "nixpkgs": [nixos.nixpkgs_url, nixos.nixpkgs_sha256],
    }
    encoded = json.dumps(document, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return "sha256:" + hashlib.sha256(encoded).hexdigest()


def host_file_paths(host: Host) -> str:
    """``<name> <path>`` per line: which ``secrets/host/<name>`` of stdin lands at which path."""
    return "".join(f"{f.source.value} {f.path}\n" for f in host.secret_files)


@dataclass(frozen=True)
class CommandSpec:
    name: str
    """Suffix of the Pulumi resource name, e.g. ``install``."""
    script: str
    environment: Mapping[str, str]
    """Plain variables, shown in the plan; never a secret."""
    tree: Mapping[str, str]
    """The rendered tree the command builds, shipped on stdin; empty when it builds nothing."""
    secret_names: tuple[str, ...]
    """Secrets shipped on stdin as ``secrets/<NAME>``: exactly the ones this command uses."""
    triggers: tuple[str, ...]
    """Values whose change re-runs the command; never derived from a secret."""
    triggered_by_machine: bool
    """Also re-run when the machine is replaced (its id joins the triggers at deploy time)."""
    update_script: str | None
    """What runs when another input changes; None re-runs ``script``. A trigger change always
    re-creates the command (pulumi-command replaces on ``triggers``), so ``script`` runs."""
    timeout: str
    """Overall limit for the Pulumi operation; each step also has its own ``timeout``."""


@dataclass(frozen=True)
class HostPipeline:
    """One host's commands and their order: install (relays, after the VM) → secret delivery →
    update; the tailnet's lookups of the host sit where ``joins_tailnet`` says."""

    host: Host
    configuration_hash: str
    install: CommandSpec | None
    """Relays only: runs once per VM."""
    deliver_secrets: CommandSpec
    """Root-only files over SSH: before the orchestrator's first switch, after a relay's
    install, and again whenever what they hold changes."""
    update: CommandSpec
    stdin_secrets: Mapping[str, StdinSecret]
    """Every ``secrets/<name>`` any of the commands carries, and where its content comes from."""
    joins_tailnet: JoinsTailnet

    @property
    def commands(self) -> tuple[CommandSpec, ...]:
        first = (self.install,) if self.install is not None else ()
        return (*first, self.deliver_secrets, self.update)


def command_stdin(spec: CommandSpec, secrets: Mapping[str, str]) -> str:
    """The command's stdin: its tree plus the values of its own secrets, and nothing else.

    ``secrets`` may hold more than the command needs (a host's full set); only the named ones
    go in, so each secret reaches just the commands that use it.
    """
    missing = [name for name in spec.secret_names if name not in secrets]
    if missing:
        raise ValueError(f"the {spec.name} command needs secrets {', '.join(missing)}")
    return stdin_archive(spec.tree, {name: secrets[name] for name in spec.secret_names})


def _connection(host: Host) -> dict[str, str]:
    """What every step that logs in reads: which host, as whom, and the key it must show.

    A relay's host key is generated by the program, so the deployment adds it (see
    NixosHost); the orchestrator's is a setting.
    """
    connection = {
        ENV_HOST: host.name,
        ENV_SSH_TARGET: str(host.ssh),
        ENV_SSH_PORT: str(host.ssh_port),
    }
    if isinstance(host, OrchestratorHost):
        connection[ENV_SSH_HOST_KEY] = host.ssh_host_key
    return connection


def _build(nixos: NixosSettings) -> dict[str, str]:
    return {
        ENV_NIXPKGS_URL: nixos.nixpkgs_url,
        ENV_NIXPKGS_SHA256: nixos.nixpkgs_sha256,
        ENV_BUILD_TIMEOUT: str(BUILD_TIMEOUT_S),
    }


def _host_files(host: Host) -> dict[str, str]:
    return {ENV_SECRETS_DIR: SECRETS_DIR, ENV_HOST_FILE_PATHS: host_file_paths(host)}


def _host_file_contents(host: Host, secrets: StackSecrets) -> dict[str, StdinSecret]:
    """The content of every root-only file the host receives. Every SOPS value is there:
    parse_secrets (infra/config/secrets.py) refused the stack otherwise."""
    contents: dict[str, StdinSecret] = {}
    for secret_file in host.secret_files:
        source = secret_file.source
        name = host_file_name(source)
        if source is SecretSource.TAILSCALE_HOST_KEY:
            contents[name] = DeployTimeSecret.TAILSCALE_AUTH_KEY
        elif source is SecretSource.ORCHESTRATOR_INFISICAL_TOKEN:
            contents[name] = SecretStr(orchestrator_environment(secrets))
        elif isinstance(host, RelayHost):
            token = secrets.relay(host.relay.name).infisical_relay_token
            if token is None:
                raise ValueError(f"{host.name}: no enrollment token; parse_secrets requires one")
            contents[name] = SecretStr(secret_file_content(source, token.get_secret_value()))
        else:
            raise ValueError(f"{host.name}: no value for {source.value}")
    return contents


def host_pipeline(
    host: Host, nixos: NixosSettings, tree: Mapping[str, str], secrets: StackSecrets
) -> HostPipeline:
    digest = configuration_hash(tree, nixos)
    connection = _connection(host)
    file_secrets = tuple(host_file_name(f.source) for f in host.secret_files)
    is_relay = isinstance(host, RelayHost)
    key_names = (STDIN_DEPLOY_KEY,) if is_relay else ()
    # A relay's keys are minted with its VM; the orchestrator logs in with the operator's agent.
    relay_keys: dict[str, StdinSecret] = (
        {
            STDIN_DEPLOY_KEY: DeployTimeSecret.DEPLOY_KEY,
            STDIN_SSH_HOST_KEY: DeployTimeSecret.SSH_HOST_KEY,
        }
        if is_relay
        else {}
    )
    stdin_secrets = {**relay_keys, **_host_file_contents(host, secrets)}
    ssh_timeout = {ENV_SSH_TIMEOUT: str(SSH_TIMEOUT_S)}
    # A new relay receives its files with the install (--extra-files).
    install = None
    if is_relay:
        install = CommandSpec(
            name=INSTALL_STEP,
            script=step_script(Step.INSTALL),
            environment={
                **connection,
                **_build(nixos),
                **_host_files(host),
                ENV_INSTALL_TIMEOUT: str(INSTALL_TIMEOUT_S),
                ENV_BOOT_WAIT: str(BOOT_WAIT_S),
                **ssh_timeout,
            },
            tree=tree,
            secret_names=(*key_names, STDIN_SSH_HOST_KEY, *file_secrets),
            triggers=(),
            triggered_by_machine=True,
            # An install wipes the disk: only a new machine runs it. Other changes only refresh
            # the recorded inputs, so a later reinstall uses the current tree, keys and files.
            update_script=step_script(Step.INSTALLED),
            timeout="2h",
        )
    # Every host, installed or not, gets its files over SSH before a switch, and again whenever
    # a value or the set of files changes (e.g. a relay that starts running an Infisical Relay).
    deliver = CommandSpec(
        name=SECRETS_STEP,
        script=step_script(Step.DELIVER_SECRETS),
        environment={**connection, **_host_files(host), **ssh_timeout},
        tree={},
        secret_names=key_names + file_secrets,
        triggers=(),
        triggered_by_machine=False,
        update_script=None,
        timeout="15m",
    )
    update = CommandSpec(
        name=UPDATE_STEP,
        script=step_script(Step.UPDATE),
        environment={
            **connection,
            **_build(nixos),
            ENV_COPY_TIMEOUT: str(COPY_TIMEOUT_S),
            ENV_SWITCH_TIMEOUT: str(SWITCH_TIMEOUT_S),
            # The access check before the copy, and the switch's confirmation.
            **ssh_timeout,
        },
        tree=tree,
        secret_names=key_names,
        triggers=(digest,),
        triggered_by_machine=False,
        update_script=step_script(Step.UPDATE),
        timeout="2h",
    )
    joins = JoinsTailnet.AT_INSTALL if install is not None else JoinsTailnet.AT_SWITCH
    return HostPipeline(host, digest, install, deliver, update, stdin_secrets, joins)
