"""NixosHost and NixosSwitch, each given one decided host, declared alone under the mock engine."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from infra.nixos.component import (
    NewMachine,
    NixosHost,
    NixosHostArgs,
    NixosSwitch,
    NixosSwitchArgs,
)
from infra.plan.engine import Deployment, run_declarations
from infra.stack.decided import DecidedHost
from tests.support.decided import decided_of
from tests.support.deployments import COMMAND, stdin_secrets, unwrap

AUTH_KEY = "CANARY-auth-key-0c7d"
DEPLOY_KEY = "CANARY-deploy-key-9e12"
HOST_KEY = "CANARY-ssh-host-key-41aa"
HOST_PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHOST"


def hosts(raw: dict[str, Any]) -> dict[str, DecidedHost]:
    return {host.spec.kind: host for host in decided_of(raw).hosts}


def machine() -> NewMachine:
    """A machine as the program hands it over; a plain resource stands in for the VM."""
    vm = pulumi.CustomResource("test:index:Machine", "machine", {})
    return NewMachine(
        created_by=vm,
        machine=vm,
        machine_id="machine-id-1",
        deploy_private_key=DEPLOY_KEY,
        deploy_public_key="ssh-ed25519 AAAA deploy",
        host_private_key=HOST_KEY,
        host_public_key=HOST_PUBLIC_KEY,
    )


def declared(build: Any) -> tuple[Deployment, dict[str, Any]]:
    """Run ``build`` alone; return what it recorded and every attribute of what it built."""
    seen: dict[str, Any] = {}

    def declare() -> None:
        for name, component in build().items():
            # Complete at construction: every attribute reads without raising.
            seen[name] = {attr: getattr(component, attr) for attr in vars(component)}

    return run_declarations("example", declare, preview=False), seen


def commands_of(deployment: Deployment) -> dict[str, Any]:
    return {command.name: command for command in deployment.by_type(COMMAND)}


def test_a_relay_host_installs_then_delivers_and_is_ready_to_switch(
    example_config: dict[str, Any],
) -> None:
    relay = hosts(example_config)["relay"]

    def build() -> dict[str, Any]:
        return {"host": NixosHost(relay.name, NixosHostArgs(relay.pipeline, AUTH_KEY, machine()))}

    deployment, seen = declared(build)
    commands = commands_of(deployment)
    assert sorted(commands) == ["relaymd-relay-install", "relaymd-relay-secrets"]
    install = commands["relaymd-relay-install"]
    assert install.inputs["triggers"] == ["machine-id-1"]
    assert install.replace_with and install.replace_with[0].endswith("::machine")
    assert install.urn in commands["relaymd-relay-secrets"].dependencies
    assert stdin_secrets(install) == {
        "deploy-key": DEPLOY_KEY + "\n",
        "ssh-host-key": HOST_KEY + "\n",
        "host/tailscale-host-key": AUTH_KEY,
    }
    # The host key goes to the install alone; every command checks its public half.
    assert "ssh-host-key" not in stdin_secrets(commands["relaymd-relay-secrets"])
    for command in commands.values():
        assert command.inputs["environment"]["RELAYMD_SSH_HOST_KEY"] == HOST_PUBLIC_KEY
    host = seen["host"]
    assert host["ready"] == (host["install"], host["deliver_secrets"])


def test_the_orchestrator_needs_no_machine_and_delivers_first(
    example_config: dict[str, Any],
) -> None:
    orchestrator = hosts(example_config)["orchestrator"]

    def build() -> dict[str, Any]:
        args = NixosHostArgs(orchestrator.pipeline, AUTH_KEY)
        return {"host": NixosHost(orchestrator.name, args)}

    deployment, seen = declared(build)
    assert sorted(commands_of(deployment)) == ["relaymd-orchestrator-secrets"]
    assert seen["host"]["install"] is None
    delivered = stdin_secrets(commands_of(deployment)["relaymd-orchestrator-secrets"])
    assert delivered["host/tailscale-host-key"] == AUTH_KEY
    assert delivered["host/orchestrator-infisical-token"].startswith("INFISICAL_TOKEN=")


def test_a_switch_waits_for_the_prepared_host_and_what_else_it_is_given(
    example_config: dict[str, Any],
) -> None:
    relay = hosts(example_config)["relay"]

    def build() -> dict[str, Any]:
        relay_machine = machine()
        prepared = NixosHost(relay.name, NixosHostArgs(relay.pipeline, AUTH_KEY, relay_machine))
        lookup = pulumi.CustomResource("test:index:Lookup", "lookup", {})
        switch = NixosSwitch(
            f"{relay.name}-switch",
            NixosSwitchArgs(relay.pipeline, prepared, relay_machine, after=[lookup]),
        )
        return {"prepared": prepared, "switch": switch}

    deployment, seen = declared(build)
    update = commands_of(deployment)["relaymd-relay-update"]
    assert update.parent_urn is not None and update.parent_urn.endswith("::relaymd-relay-switch")
    waits = {urn.rsplit("::", 1)[-1] for urn in update.dependencies}
    assert {"relaymd-relay-install", "relaymd-relay-secrets", "lookup"} <= waits
    assert unwrap(update.inputs["triggers"]) == [relay.pipeline.configuration_hash]
    # Logs in with the deploy key; places no host file.
    assert stdin_secrets(update) == {"deploy-key": DEPLOY_KEY + "\n"}
    assert seen["switch"]["configuration_hash"] == relay.pipeline.configuration_hash


def test_an_install_without_its_machine_is_a_wiring_error(example_config: dict[str, Any]) -> None:
    relay = hosts(example_config)["relay"]
    with pytest.raises(ValueError, match="an install needs the machine it goes onto"):
        declared(lambda: {"host": NixosHost(relay.name, NixosHostArgs(relay.pipeline, AUTH_KEY))})
