"""NixosHost: install (relays), deliver secret files and switch configuration (both).

The scripts, variables and triggers come from pipeline.py; this component only wires them into
pulumi-command resources, marks every secret value as a Pulumi secret and orders the steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
from pulumi_command import local

from infra.config import NixosSettings
from infra.hosts import HostSpec, SecretSource
from infra.nixos.pipeline import (
    ENV_DEPLOY_PUBLIC_KEY,
    ENV_SSH_PRIVATE_KEY,
    CommandSpec,
    host_pipeline,
    secret_file_content,
    secret_variable,
)

INTERPRETER = ["/bin/bash", "-c"]


@dataclass(frozen=True)
class NixosHostArgs:
    host: HostSpec
    nixos: NixosSettings
    files: Mapping[str, str]
    """The host's rendered tree: path relative to the rendered ``nixos/`` root → text."""
    secrets: Mapping[SecretSource, pulumi.Input[str]]
    """A value for every SecretSource in ``host.secret_files``."""
    machine_id: pulumi.Input[str] | None = None
    """Relays: the VM's id; a new id means a new machine and a fresh install."""
    ssh_private_key: pulumi.Input[str] | None = None
    """Relays: the per-deployment key; the orchestrator uses the operator's SSH agent."""
    deploy_public_key: pulumi.Input[str] | None = None
    """Relays: installed as the SSH user's authorized key so updates can log in."""
    after: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Resources the first command waits for (e.g. the VM)."""
    machine: Sequence[pulumi.Resource] = field(default_factory=tuple)
    """Relays: the VM itself; replacing it re-runs the install even when Proxmox reuses its id."""


def _file_content(source: SecretSource) -> Callable[[str], str]:
    def content(value: str) -> str:
        return secret_file_content(source, value)

    return content


class NixosHost(pulumi.ComponentResource):
    install: local.Command | None
    deliver_secrets: local.Command
    update: local.Command | None
    """Declared by :meth:`declare_update`, once what it must wait for exists."""
    configuration_hash: str

    def __init__(
        self, name: str, args: NixosHostArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("relaymd:nixos:NixosHost", name, None, opts)
        host = args.host
        missing = sorted(f.source.value for f in host.secret_files if f.source not in args.secrets)
        if missing:
            raise ValueError(f"NixosHost {name}: no value for secret files {', '.join(missing)}")
        pipeline = host_pipeline(host, args.nixos, args.files)
        self.configuration_hash = pipeline.configuration_hash
        secret_environment = self._secret_environments(args)
        self.install = None
        if pipeline.install is not None:
            if args.machine_id is None or args.deploy_public_key is None:
                raise ValueError(
                    f"NixosHost {name}: a relay needs machine_id and deploy_public_key"
                )
            self.install = self._command(
                name,
                pipeline.install,
                secret_environment,
                extra_environment={ENV_DEPLOY_PUBLIC_KEY: args.deploy_public_key},
                machine_id=args.machine_id,
                depends_on=list(args.after),
                # No ignore_changes here on purpose: a replacement would be created with the
                # ignored inputs of the first install (its tree, an already used auth key).
                replace_with=list(args.machine),
            )
        # On a relay the files arrive with the install; delivering them again after it keeps
        # them current when they change later.
        self.deliver_secrets = self._command(
            name,
            pipeline.deliver_secrets,
            secret_environment,
            depends_on=[self.install] if self.install is not None else list(args.after),
        )
        self._pipeline = pipeline
        self._secret_environment = secret_environment
        self._name = name
        self._first_steps: list[pulumi.Resource] = [
            step for step in (self.install, self.deliver_secrets) if step is not None
        ]
        self.update = None
        self.register_outputs({"configuration_hash": self.configuration_hash})

    @property
    def installs(self) -> bool:
        """A new relay VM joins the tailnet at install; the orchestrator at its first switch."""
        return self.install is not None

    @property
    def joined(self) -> Sequence[pulumi.Resource]:
        """After these the host runs its configuration and has joined the tailnet."""
        if self.install is not None:
            return [self.install]
        if self.update is None:
            raise RuntimeError(f"NixosHost {self._name}: declare_update() before reading joined")
        return [*self._first_steps, self.update]

    def declare_update(self, after: Sequence[pulumi.Resource] = ()) -> local.Command:
        """The switch to the rendered configuration: after install or secret delivery, and
        after ``after`` (e.g. the tailnet lookups that need the installed host)."""
        if self.update is not None:
            raise RuntimeError(f"NixosHost {self._name}: the update is already declared")
        self.update = self._command(
            self._name,
            self._pipeline.update,
            self._secret_environment,
            depends_on=[*self._first_steps, *after],
        )
        return self.update

    @staticmethod
    def _secret_environments(args: NixosHostArgs) -> dict[str, pulumi.Output[str]]:
        environment: dict[str, pulumi.Output[str]] = {}
        for secret_file in args.host.secret_files:
            source = secret_file.source
            content = pulumi.Output.from_input(args.secrets[source]).apply(_file_content(source))
            # Provider outputs (e.g. an auth key) are not always flagged secret: wrap them.
            environment[secret_variable(source)] = pulumi.Output.secret(content)
        if args.ssh_private_key is not None:
            environment[ENV_SSH_PRIVATE_KEY] = pulumi.Output.secret(args.ssh_private_key)
        return environment

    def _command(
        self,
        name: str,
        spec: CommandSpec,
        secret_environment: Mapping[str, pulumi.Output[str]],
        *,
        extra_environment: Mapping[str, pulumi.Input[str]] | None = None,
        machine_id: pulumi.Input[str] | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
        replace_with: Sequence[pulumi.Resource] = (),
    ) -> local.Command:
        environment: dict[str, pulumi.Input[str]] = dict(spec.environment)
        environment.update(extra_environment or {})
        for variable in spec.secret_variables:
            if variable not in secret_environment:
                raise ValueError(f"NixosHost {name}: {spec.name} needs {variable}")
            environment[variable] = secret_environment[variable]
        triggers: list[pulumi.Input[str]] = list(spec.triggers)
        if spec.triggered_by_machine:
            triggers.append(machine_id if machine_id is not None else "")
        return local.Command(
            f"{name}-{spec.name}",
            create=spec.script,
            update=spec.update_script,
            interpreter=INTERPRETER,
            environment=environment,
            stdin=spec.stdin,
            triggers=triggers,
            logging=local.Logging.STDOUT_AND_STDERR,
            add_previous_output_in_env=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=list(depends_on),
                custom_timeouts=pulumi.CustomTimeouts(create=spec.timeout, update=spec.timeout),
                replace_with=list(replace_with) or None,
            ),
        )
