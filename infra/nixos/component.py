"""NixosHost: install (relays), deliver secret files and switch configuration (both).

The scripts, variables and triggers come from pipeline.py; this component only wires them into
pulumi-command resources, builds each command's stdin (wrapped as a Pulumi secret whenever it
carries one) and orders the steps. ``environment`` holds plain values only, so the plan and
``pulumi preview --diff`` show it instead of a single ``[secret]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import pulumi
from pulumi_command import local

from infra.decided.hosts import HostSpec, SecretSource
from infra.edge.settings import NixosSettings
from infra.nixos.pipeline import (
    ENV_DEPLOY_PUBLIC_KEY,
    STDIN_DEPLOY_KEY,
    CommandSpec,
    command_stdin,
    deploy_key_file_content,
    host_file_name,
    host_pipeline,
    secret_file_content,
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


def _file_content(source: SecretSource) -> Callable[[str | None], str | None]:
    def content(value: str | None) -> str | None:
        return None if value is None else secret_file_content(source, value)

    return content


def _deploy_key_content(value: str | None) -> str | None:
    return None if value is None else deploy_key_file_content(value)


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
        secret_contents = self._stdin_secret_contents(args)
        self.install = None
        if pipeline.install is not None:
            if args.machine_id is None or args.deploy_public_key is None:
                raise ValueError(
                    f"NixosHost {name}: a relay needs machine_id and deploy_public_key"
                )
            self.install = self._command(
                name,
                pipeline.install,
                secret_contents,
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
            secret_contents,
            depends_on=[self.install] if self.install is not None else list(args.after),
        )
        self._pipeline = pipeline
        self._secret_contents = secret_contents
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
            self._secret_contents,
            depends_on=[*self._first_steps, *after],
        )
        return self.update

    @staticmethod
    def _stdin_secret_contents(args: NixosHostArgs) -> dict[str, pulumi.Output[str | None]]:
        """What each ``secrets/<name>`` file of stdin holds, every one a Pulumi secret."""
        contents: dict[str, pulumi.Output[str | None]] = {}
        for secret_file in args.host.secret_files:
            source = secret_file.source
            content = pulumi.Output.from_input(args.secrets[source]).apply(_file_content(source))
            # Provider outputs (e.g. an auth key) are not always flagged secret: wrap them.
            contents[host_file_name(source)] = pulumi.Output.secret(content)
        if args.ssh_private_key is not None:
            key = pulumi.Output.from_input(args.ssh_private_key).apply(_deploy_key_content)
            contents[STDIN_DEPLOY_KEY] = pulumi.Output.secret(key)
        return contents

    @staticmethod
    def _stdin(
        name: str, spec: CommandSpec, secret_contents: Mapping[str, pulumi.Output[str | None]]
    ) -> pulumi.Input[str]:
        """The tree alone stays plain and reviewable; with any secret inside, all of it is one."""
        if not spec.secret_names:
            return command_stdin(spec, {})
        missing = [n for n in spec.secret_names if n not in secret_contents]
        if missing:
            raise ValueError(f"NixosHost {name}: {spec.name} needs {', '.join(missing)}")
        names = spec.secret_names

        def archive(values: list[str | None]) -> str | None:
            present = {n: v for n, v in zip(names, values, strict=True) if v is not None}
            if len(present) < len(names):
                # Only the offline mock engine leaves a provider output empty; with no stdin
                # the script stops before it touches a host.
                return None
            return command_stdin(spec, present)

        values = pulumi.Output.all(*(secret_contents[n] for n in names))
        stdin: pulumi.Output[str | None] = values.apply(archive)
        # An absent (None) stdin reaches pulumi-command as if none were set.
        return pulumi.Output.secret(cast("pulumi.Output[str]", stdin))

    def _command(
        self,
        name: str,
        spec: CommandSpec,
        secret_contents: Mapping[str, pulumi.Output[str | None]],
        *,
        extra_environment: Mapping[str, pulumi.Input[str]] | None = None,
        machine_id: pulumi.Input[str] | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
        replace_with: Sequence[pulumi.Resource] = (),
    ) -> local.Command:
        environment: dict[str, pulumi.Input[str]] = dict(spec.environment)
        environment.update(extra_environment or {})
        triggers: list[pulumi.Input[str]] = list(spec.triggers)
        if spec.triggered_by_machine:
            triggers.append(machine_id if machine_id is not None else "")
        return local.Command(
            f"{name}-{spec.name}",
            create=spec.script,
            update=spec.update_script,
            interpreter=INTERPRETER,
            environment=environment,
            stdin=self._stdin(name, spec, secret_contents),
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
