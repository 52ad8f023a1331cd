"""NixosHost and NixosSwitch: a host's pipeline mapped onto pulumi-command resources.

NixosHost prepares a host: the install (relays) and the delivery of its root-only files.
NixosSwitch switches it to the rendered configuration. They are two components because the
tailnet's lookup of a new relay sits between them (install → lookup → switch), and each one is
complete when constructed. Every script, variable, trigger and secret comes from the decided
pipeline; these components only wire them up, build each command's stdin (a Pulumi secret
whenever it carries one) and order the steps. ``environment`` holds plain values only, so the
plan and ``pulumi preview --diff`` show it instead of a single ``[secret]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import pulumi
from pulumi_command import local

from infra.ground.contract import (
    ENV_DEPLOY_PUBLIC_KEY,
    ENV_SSH_HOST_KEY,
    NIXOS_HOST_TYPE,
    NIXOS_SWITCH_TYPE,
    host_command_resource,
)
from infra.nixos.pipeline import (
    CommandSpec,
    DeployTimeSecret,
    HostPipeline,
    command_stdin,
    private_key_file_content,
)

INTERPRETER = ["bash", "-c"]
"""A bare name, found on the deploying machine's PATH (NixOS has no /bin/bash): the command
provider starts it with Go's exec.CommandContext, which looks such names up on PATH
(pulumi-command v1.2.1, provider/pkg/provider/local/commandOutputs.go)."""
COMMAND_LOGS = ["stdout", "stderr"]
"""A step's output may echo what it handled; stdin is already secret, so its logs are too."""


@dataclass(frozen=True)
class NewMachine:
    """A machine created for the host (a relay's VM): the install goes onto it."""

    created_by: pulumi.Resource
    """The install waits for it (e.g. the RelayVm component, deploy key included)."""
    machine: pulumi.Resource
    """Replacing it re-runs the install, even when Proxmox hands out the same id again."""
    machine_id: pulumi.Input[str]
    """A new id means a new machine: the install's trigger."""
    deploy_private_key: pulumi.Input[str]
    deploy_public_key: pulumi.Input[str]
    """Installed as the SSH user's authorized key, so updates can log in."""
    host_private_key: pulumi.Input[str]
    """The machine's own SSH host key, installed as /etc/ssh/ssh_host_ed25519_key."""
    host_public_key: pulumi.Input[str]
    """Its public half: every command checks the machine against it."""

    @property
    def host_key_environment(self) -> dict[str, pulumi.Input[str]]:
        """A new machine's host key is minted with it, so the commands learn it here."""
        return {ENV_SSH_HOST_KEY: self.host_public_key}


@dataclass(frozen=True)
class NixosHostArgs:
    pipeline: HostPipeline
    auth_key: pulumi.Input[str]
    """The host's own single-use Tailscale key."""
    machine: NewMachine | None = None
    """Relays: the VM to install onto. The orchestrator is an existing machine."""


@dataclass(frozen=True)
class NixosSwitchArgs:
    pipeline: HostPipeline
    prepared: NixosHost
    """The host's install and root-only files: the switch comes after them."""
    machine: NewMachine | None = None
    """Relays: whose deploy key logs the switch in."""
    after: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Anything else the switch waits for, e.g. the tailnet lookups that found the host."""


class NixosHost(pulumi.ComponentResource):
    install: local.Command | None
    deliver_secrets: local.Command
    ready: tuple[pulumi.Resource, ...]
    """After these the host can switch: its install (relays) and its root-only files."""

    def __init__(
        self, name: str, args: NixosHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(NIXOS_HOST_TYPE, name, None, opts)
        pipeline = args.pipeline
        contents = _stdin_contents(pipeline, args.auth_key, args.machine)
        self.install = None
        if pipeline.install is not None:
            if args.machine is None:
                raise ValueError(f"NixosHost {name}: an install needs the machine it goes onto")
            self.install = _command(
                self,
                name,
                pipeline.install,
                contents,
                extra_environment={
                    **args.machine.host_key_environment,
                    ENV_DEPLOY_PUBLIC_KEY: args.machine.deploy_public_key,
                },
                machine_id=args.machine.machine_id,
                depends_on=[args.machine.created_by],
                # No ignore_changes here on purpose: a replacement would be created with the
                # ignored inputs of the first install (its tree, an already used auth key).
                replace_with=[args.machine.machine],
            )
        # On a relay the files arrive with the install; delivering them again after it keeps
        # them current when they change later.
        self.deliver_secrets = _command(
            self,
            name,
            pipeline.deliver_secrets,
            contents,
            extra_environment=_host_key_environment(args.machine),
            depends_on=[self.install] if self.install is not None else [],
        )
        self.ready = tuple(
            step for step in (self.install, self.deliver_secrets) if step is not None
        )
        self.register_outputs({"joins_tailnet": pipeline.joins_tailnet.value})


class NixosSwitch(pulumi.ComponentResource):
    update: local.Command
    configuration_hash: str

    def __init__(
        self, name: str, args: NixosSwitchArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(NIXOS_SWITCH_TYPE, name, None, opts)
        pipeline = args.pipeline
        self.configuration_hash = pipeline.configuration_hash
        self.update = _command(
            self,
            pipeline.host.name,
            pipeline.update,
            _stdin_contents(pipeline, None, args.machine),
            extra_environment=_host_key_environment(args.machine),
            depends_on=[*args.prepared.ready, *args.after],
            # The update was once declared inside NixosHost: the alias keeps its state.
            aliases=[pulumi.Alias(parent=args.prepared)],
        )
        self.register_outputs({"configuration_hash": self.configuration_hash})


def _stdin_contents(
    pipeline: HostPipeline, auth_key: pulumi.Input[str] | None, machine: NewMachine | None
) -> dict[str, pulumi.Output[str | None]]:
    """What each ``secrets/<name>`` file of stdin holds, every one a Pulumi secret. Values
    a component was not given stay out; a command that needs one fails on it (_stdin)."""
    deploy_time: dict[DeployTimeSecret, pulumi.Input[str] | None] = {
        DeployTimeSecret.TAILSCALE_AUTH_KEY: auth_key,
        DeployTimeSecret.DEPLOY_KEY: None
        if machine is None
        else pulumi.Output.from_input(machine.deploy_private_key).apply(_private_key_content),
        DeployTimeSecret.SSH_HOST_KEY: None
        if machine is None
        else pulumi.Output.from_input(machine.host_private_key).apply(_private_key_content),
    }
    contents: dict[str, pulumi.Output[str | None]] = {}
    for name, source in pipeline.stdin_secrets.items():
        value = (
            deploy_time[source]
            if isinstance(source, DeployTimeSecret)
            else source.get_secret_value()
        )
        if value is not None:
            # Provider outputs (e.g. an auth key) are not always flagged secret: wrap them.
            contents[name] = pulumi.Output.secret(value)
    return contents


def _private_key_content(value: str) -> str:
    # The mock engine may leave the key empty (None): pass that through untouched.
    return private_key_file_content(value) if value else value


def _host_key_environment(machine: NewMachine | None) -> dict[str, pulumi.Input[str]]:
    # The orchestrator's host key is a setting, already in the decided environment.
    return machine.host_key_environment if machine is not None else {}


def _stdin(
    name: str, spec: CommandSpec, contents: Mapping[str, pulumi.Output[str | None]]
) -> pulumi.Input[str]:
    """The tree alone stays plain and reviewable; with any secret inside, all of it is one."""
    if not spec.secret_names:
        return command_stdin(spec, {})
    missing = [n for n in spec.secret_names if n not in contents]
    if missing:
        raise ValueError(f"{name}: {spec.name} needs {', '.join(missing)}")
    names = spec.secret_names

    def archive(values: list[str | None]) -> str | None:
        present = {n: v for n, v in zip(names, values, strict=True) if v is not None}
        if len(present) < len(names):
            # Only the offline mock engine leaves a provider output empty; with no stdin
            # the script stops before it touches a host.
            return None
        return command_stdin(spec, present)

    values = pulumi.Output.all(*(contents[n] for n in names))
    stdin: pulumi.Output[str | None] = values.apply(archive)
    # An absent (None) stdin reaches pulumi-command as if none were set.
    return pulumi.Output.secret(cast("pulumi.Output[str]", stdin))


def _command(
    parent: pulumi.Resource,
    host: str,
    spec: CommandSpec,
    contents: Mapping[str, pulumi.Output[str | None]],
    *,
    extra_environment: Mapping[str, pulumi.Input[str]] | None = None,
    machine_id: pulumi.Input[str] | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
    replace_with: Sequence[pulumi.Resource] = (),
    aliases: Sequence[pulumi.Alias] = (),
) -> local.Command:
    environment: dict[str, pulumi.Input[str]] = dict(spec.environment)
    environment.update(extra_environment or {})
    triggers: list[pulumi.Input[str]] = list(spec.triggers)
    if spec.triggered_by_machine:
        triggers.append(machine_id if machine_id is not None else "")
    return local.Command(
        host_command_resource(host, spec.name),
        create=spec.script,
        update=spec.update_script,
        interpreter=INTERPRETER,
        environment=environment,
        stdin=_stdin(host, spec, contents),
        triggers=triggers,
        logging=local.Logging.STDOUT_AND_STDERR,
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            custom_timeouts=pulumi.CustomTimeouts(create=spec.timeout, update=spec.timeout),
            replace_with=list(replace_with) or None,
            aliases=list(aliases) or None,
            additional_secret_outputs=COMMAND_LOGS,
        ),
    )
