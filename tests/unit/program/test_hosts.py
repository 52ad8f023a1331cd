"""The program's hosts under the mock engine: commands, triggers, order, no secret shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime import rpc

import infra.stack.decided
from infra.config.hosts import SECRETS_DIR
from infra.ground.contract import ENV_DEPLOY_PUBLIC_KEY, ENV_HOST_FILE_PATHS, ENV_SSH_TARGET
from infra.nixos.component import INTERPRETER
from infra.nixos.pipeline import STDIN_DEPLOY_KEY, STDIN_SSH_HOST_KEY, host_file_name
from infra.nixos.scripts import Step, step_script
from infra.plan.document import plan_json
from infra.plan.engine import Deployment
from infra.plan.mocks import RecordedResource
from tests.support.deployments import (
    COMMAND,
    DEPLOY_PRIVATE_CANARY,
    DEPLOY_PUBLIC_KEY,
    SSH_HOST_PRIVATE_CANARY,
    VM,
    archive_files,
    commands,
    deploy,
    host_key_canary,
    plain_strings,
    stdin_secrets,
    unwrap,
    with_second_relay,
)
from tests.support.stacks import canary_values, enable_infisical_relay, stack_with_secrets

RELAY = "relaymd-relay"
ORCHESTRATOR = "relaymd-orchestrator"


def rendered_tree(relay_text: str) -> dict[str, str]:
    """Stand-in for the rendered NixOS tree (built elsewhere), as nixos_tree returns it."""
    return {
        "nixos/modules/disko.nix": "{ ... }: { }\n",
        f"nixos/{RELAY}/configuration.nix": relay_text,
        f"nixos/{ORCHESTRATOR}/configuration.nix": "{ ... }: { imports = [ ]; }\n",
    }


@pytest.fixture
def render_relay_as(monkeypatch: pytest.MonkeyPatch) -> Any:
    def use(relay_text: str) -> None:
        def render(*_: Any) -> dict[str, str]:
            return rendered_tree(relay_text)

        monkeypatch.setattr(infra.stack.decided, "nixos_tree", render)

    return use


def urn_names(resource: RecordedResource) -> set[str]:
    return {urn.rsplit("::", 1)[-1] for urn in resource.dependencies}


TAILSCALE_KEY = "host/tailscale-host-key"
INFISICAL_TOKEN = "host/orchestrator-infisical-token"
RELAY_TOKEN = "host/infisical-relay-token"


def test_relay_runs_install_then_update_and_orchestrator_secrets_then_update(
    example_config: dict[str, Any], render_relay_as: Any
) -> None:
    render_relay_as('{ ... }: { networking.hostName = "relaymd-relay"; }\n')
    deployment = deploy(example_config)
    relay = commands(deployment, RELAY)
    orchestrator = commands(deployment, ORCHESTRATOR)
    assert sorted(relay) == ["install", "secrets", "update"]
    assert sorted(orchestrator) == ["secrets", "update"]
    assert relay["install"].inputs["create"] == step_script(Step.INSTALL)
    # Re-running the install means reinstalling: later changes only run the notice.
    assert relay["install"].inputs["update"] == step_script(Step.INSTALLED)
    assert (
        relay["update"].inputs["create"]
        == relay["update"].inputs["update"]
        == step_script(Step.UPDATE)
    )
    assert orchestrator["secrets"].inputs["create"] == step_script(Step.DELIVER_SECRETS)
    assert relay["secrets"].inputs["create"] == step_script(Step.DELIVER_SECRETS)
    # No `update`: a changed value or file list runs the delivery again.
    assert "update" not in relay["secrets"].inputs
    assert orchestrator["update"].inputs["update"] == step_script(Step.UPDATE)
    for command in [*relay.values(), *orchestrator.values()]:
        # bash from PATH: NixOS deploy machines have no /bin/bash.
        assert command.inputs["interpreter"] == INTERPRETER == ["bash", "-c"]
        assert command.inputs["logging"] == "stdoutAndStderr"
        # A step's logs may echo what it handled: they are secret in state like its stdin.
        assert set(command.additional_secret_outputs) == {"stdout", "stderr"}
        assert command.parent_urn is not None
        host, step = command.name.rsplit("-", 1)
        # The switch is its own component, declared once the host is ready for it.
        parent = f"{host}-switch" if step == "update" else host
        assert command.parent_urn.endswith(f"::{parent}")


def test_install_is_triggered_by_the_vm_and_reruns_only_for_a_new_one(
    example_config: dict[str, Any],
) -> None:
    deployment = deploy(example_config)
    install = commands(deployment, RELAY)["install"]
    [vm] = deployment.by_type(VM)
    assert install.inputs["triggers"] == ["relay-1-vm-id"]
    # A new id re-creates the install (runs `create`, not the `update` notice), and so does a
    # replaced VM whose id Proxmox handed out again.
    assert install.replace_on_changes == ("triggers[*]",)
    assert install.replace_with == (vm.urn,)
    # Ignored inputs would make a reinstall reuse the first install's tree and used auth key.
    assert install.ignore_changes == ()
    assert commands(deployment, RELAY)["update"].replace_with == ()


def test_update_trigger_is_the_configuration_hash_and_stdin_is_exactly_the_tree(
    example_config: dict[str, Any], render_relay_as: Any
) -> None:
    render_relay_as("relay text\n")
    deployment = deploy(example_config)
    update = commands(deployment, RELAY)["update"]
    [trigger] = update.inputs["triggers"]
    assert trigger.startswith("sha256:") and len(trigger) == len("sha256:") + 64
    # The relay's update logs in with the deploy key, so its stdin is a secret as a whole.
    assert rpc.is_rpc_secret(update.inputs["stdin"])
    assert archive_files(unwrap(update.inputs["stdin"])) == {
        "tree/modules/disko.nix": "{ ... }: { }\n",
        f"tree/{RELAY}/configuration.nix": "relay text\n",
        f"secrets/{STDIN_DEPLOY_KEY}": DEPLOY_PRIVATE_CANARY + "\n",
    }
    # The orchestrator's update carries no secret: its stdin stays plain and reviewable.
    orchestrator_stdin = commands(deployment, ORCHESTRATOR)["update"].inputs["stdin"]
    assert isinstance(orchestrator_stdin, str)
    assert archive_files(orchestrator_stdin) == {
        "tree/modules/disko.nix": "{ ... }: { }\n",
        f"tree/{ORCHESTRATOR}/configuration.nix": "{ ... }: { imports = [ ]; }\n",
    }


def test_changed_configuration_changes_the_update_trigger_but_not_the_install_trigger(
    example_config: dict[str, Any], render_relay_as: Any
) -> None:
    render_relay_as("{ ... }: { services.dnsmasq.enable = true; }\n")
    before = deploy(example_config)
    render_relay_as("{ ... }: { services.dnsmasq.enable = false; }\n")
    after = deploy(example_config)

    def triggers(deployment: Deployment, host: str, step: str) -> Any:
        return commands(deployment, host)[step].inputs["triggers"]

    assert triggers(before, RELAY, "update") != triggers(after, RELAY, "update")
    assert triggers(before, RELAY, "install") == triggers(after, RELAY, "install")
    # Another host's text is not part of the orchestrator's tree.
    assert triggers(before, ORCHESTRATOR, "update") == triggers(after, ORCHESTRATOR, "update")


def test_changed_nixpkgs_pin_changes_the_update_trigger(
    example_config: dict[str, Any], render_relay_as: Any
) -> None:
    render_relay_as("same text\n")
    before = commands(deploy(example_config), RELAY)["update"].inputs["triggers"]
    example_config["nixos"]["nixpkgs_revision"] = "0" * 40
    after = commands(deploy(example_config), RELAY)["update"].inputs["triggers"]
    assert before != after


def test_dependency_order_vm_install_update_and_secrets_before_switch(
    example_config: dict[str, Any],
) -> None:
    deployment = deploy(example_config)
    relay = commands(deployment, RELAY)
    orchestrator = commands(deployment, ORCHESTRATOR)
    assert {"relay-1-vm", "relay-1-deploy-key"} <= urn_names(relay["install"])
    assert "relaymd-relay-install" in urn_names(relay["update"])
    # A relay's files are delivered again after its install, and before any later switch.
    assert "relaymd-relay-install" in urn_names(relay["secrets"])
    assert "relaymd-relay-secrets" in urn_names(relay["update"])
    assert "relaymd-orchestrator-secrets" in urn_names(orchestrator["update"])
    # The auth keys feed the commands that place them.
    assert any(name.startswith("host-key-") for name in urn_names(relay["install"]))
    assert any(name.startswith("host-key-") for name in urn_names(orchestrator["secrets"]))


def test_tailnet_lookups_sit_between_install_and_later_switches(
    example_config: dict[str, Any],
) -> None:
    """VM → install → device lookup (split DNS) → update; the orchestrator joins at its switch."""
    deployment = deploy(example_config)
    relay = commands(deployment, RELAY)
    split_dns = deployment.named(
        "tailscale:index/dnsSplitNameservers:DnsSplitNameservers", "split-dns-internal"
    )
    assert "split-dns-internal" in urn_names(relay["update"])
    assert "relaymd-relay-update" not in urn_names(split_dns)
    # The orchestrator's device can only be found once its first switch brought tailscale up.
    orchestrator_update = commands(deployment, ORCHESTRATOR)["update"]
    assert "tailnet-devices" not in urn_names(orchestrator_update)


def test_device_lookups_wait_for_the_host_to_join(
    example_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Invoke dependencies are not in the plan, so watch what the lookups are told to wait for."""
    import pulumi_tailscale

    import infra.tailnet.devices

    waits: dict[str, set[str]] = {}
    real_lookup = pulumi_tailscale.get_device_output

    def recording_lookup(*, hostname: str, opts: Any, **kwargs: Any) -> Any:
        waits.setdefault(hostname, set()).update(resource._name for resource in opts.depends_on)
        return real_lookup(hostname=hostname, opts=opts, **kwargs)

    monkeypatch.setattr(infra.tailnet.devices.tailscale, "get_device_output", recording_lookup)
    deploy(example_config)
    assert {"host-key-relaymd-relay", "relaymd-relay-install"} <= waits[RELAY]
    assert {"relaymd-orchestrator-secrets", "relaymd-orchestrator-update"} <= waits[ORCHESTRATOR]


def test_environment_names_the_target_and_the_secret_files(example_config: dict[str, Any]) -> None:
    deployment = deploy(example_config)
    install = commands(deployment, RELAY)["install"].inputs["environment"]
    assert install[ENV_SSH_TARGET] == "admin@10.100.10.2"
    assert install[ENV_DEPLOY_PUBLIC_KEY] == DEPLOY_PUBLIC_KEY
    assert install[ENV_HOST_FILE_PATHS] == f"tailscale-host-key {SECRETS_DIR}/tailscale-auth-key\n"
    secrets = commands(deployment, ORCHESTRATOR)["secrets"].inputs["environment"]
    assert secrets[ENV_SSH_TARGET] == "admin@orchestrator.lab.example.org"
    assert secrets[ENV_HOST_FILE_PATHS].splitlines() == [
        f"tailscale-host-key {SECRETS_DIR}/tailscale-auth-key",
        f"orchestrator-infisical-token {SECRETS_DIR}/orchestrator.env",
    ]
    update = commands(deployment, ORCHESTRATOR)["update"].inputs["environment"]
    assert ENV_HOST_FILE_PATHS not in update


def test_no_environment_holds_or_is_marked_a_secret(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    """Every environment is plain data: the plan shows it, and it holds no secret value."""
    deployment = deploy(canary_stack)
    secret_names = {STDIN_DEPLOY_KEY, TAILSCALE_KEY, INFISICAL_TOKEN, RELAY_TOKEN}
    secrets = [
        *canary_values(canary_document),
        DEPLOY_PRIVATE_CANARY,
        SSH_HOST_PRIVATE_CANARY,
        host_key_canary(f"host-key-{RELAY}"),
        host_key_canary(f"host-key-{ORCHESTRATOR}"),
    ]
    for command in deployment.by_type(COMMAND):
        environment = command.inputs["environment"]
        assert not rpc.is_rpc_secret(environment), command.name
        assert not [name for name, value in environment.items() if rpc.is_rpc_secret(value)]
        assert all(isinstance(value, str) for value in environment.values()), command.name
        assert not secret_names & set(environment), command.name
        assert not [s for s in secrets if any(s in value for value in environment.values())]


def test_each_secret_reaches_only_the_commands_that_use_it_inside_a_secret_stdin(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    deployment = deploy(canary_stack)
    relay_key = host_key_canary(f"host-key-{RELAY}")
    orchestrator_key = host_key_canary(f"host-key-{ORCHESTRATOR}")
    token = canary_document["orchestrator"]["infisical_token"]
    received = {command.name: stdin_secrets(command) for command in deployment.by_type(COMMAND)}
    deploy_key = DEPLOY_PRIVATE_CANARY + "\n"
    ssh_host_key = SSH_HOST_PRIVATE_CANARY + "\n"
    assert received == {
        f"{RELAY}-install": {
            STDIN_DEPLOY_KEY: deploy_key,
            STDIN_SSH_HOST_KEY: ssh_host_key,
            TAILSCALE_KEY: relay_key,
        },
        f"{RELAY}-secrets": {STDIN_DEPLOY_KEY: deploy_key, TAILSCALE_KEY: relay_key},
        f"{RELAY}-update": {STDIN_DEPLOY_KEY: deploy_key},
        f"{ORCHESTRATOR}-secrets": {
            TAILSCALE_KEY: orchestrator_key,
            INFISICAL_TOKEN: f"INFISICAL_TOKEN={token}\n",
        },
        f"{ORCHESTRATOR}-update": {},
    }
    for command in deployment.by_type(COMMAND):
        stdin = command.inputs["stdin"]
        # A stdin with a secret inside is a secret as a whole; one without stays plain.
        assert rpc.is_rpc_secret(stdin) == bool(received[command.name]), command.name


def test_no_secret_in_any_command_string_trigger_or_plan(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    deployment = deploy(canary_stack)
    secrets = [
        *canary_values(canary_document),
        DEPLOY_PRIVATE_CANARY,
        host_key_canary(f"host-key-{RELAY}"),
        host_key_canary(f"host-key-{ORCHESTRATOR}"),
    ]
    command_resources = deployment.by_type(COMMAND)
    assert len(command_resources) == 5
    seen_in_secret_stdin: set[str] = set()
    for command in command_resources:
        # Nothing outside a Pulumi secret carries a value: not the scripts, the environment,
        # the triggers, or a plain stdin.
        texts = list(plain_strings(command.inputs))
        assert not [s for s in secrets if any(s in text for text in texts)], command.name
        seen_in_secret_stdin |= {
            s for s in secrets if any(s in v for v in stdin_secrets(command).values())
        }
    # The canaries that must travel do travel (so the check above is not vacuous).
    assert {
        DEPLOY_PRIVATE_CANARY,
        host_key_canary(f"host-key-{RELAY}"),
        host_key_canary(f"host-key-{ORCHESTRATOR}"),
        canary_document["orchestrator"]["infisical_token"],
    } <= seen_in_secret_stdin
    text = plan_json(deployment)
    assert [s for s in secrets if s in text] == []


def test_plan_shows_every_commands_environment_and_masks_only_secret_stdins(
    canary_stack: dict[str, Any],
) -> None:
    plan = json.loads(plan_json(deploy(canary_stack)))
    shown = {
        resource["name"]: resource["inputs"]
        for resource in plan["resources"]
        if resource["type"] == COMMAND
    }
    targets = {name: inputs["environment"][ENV_SSH_TARGET] for name, inputs in shown.items()}
    assert targets == {
        f"{RELAY}-install": "admin@10.100.10.2",
        f"{RELAY}-secrets": "admin@10.100.10.2",
        f"{RELAY}-update": "admin@10.100.10.2",
        f"{ORCHESTRATOR}-secrets": "admin@orchestrator.lab.example.org",
        f"{ORCHESTRATOR}-update": "admin@orchestrator.lab.example.org",
    }
    assert shown[f"{ORCHESTRATOR}-secrets"]["environment"][ENV_HOST_FILE_PATHS].splitlines() == [
        f"tailscale-host-key {SECRETS_DIR}/tailscale-auth-key",
        f"orchestrator-infisical-token {SECRETS_DIR}/orchestrator.env",
    ]
    masked = {name for name, inputs in shown.items() if inputs["stdin"] == "[secret]"}
    assert masked == {f"{RELAY}-install", f"{RELAY}-secrets", f"{RELAY}-update"} | {
        f"{ORCHESTRATOR}-secrets"
    }
    assert archive_files(shown[f"{ORCHESTRATOR}-update"]["stdin"])  # the tree, reviewable


def test_orchestrator_token_lands_as_an_environment_file(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    delivered = stdin_secrets(commands(deploy(canary_stack), ORCHESTRATOR)["secrets"])
    token = canary_document["orchestrator"]["infisical_token"]
    assert delivered[host_file_name_for("ORCHESTRATOR_INFISICAL_TOKEN")] == (
        f"INFISICAL_TOKEN={token}\n"
    )


def test_registry_login_joins_the_orchestrators_environment_file(
    tmp_path: Path, canary_document: dict[str, Any]
) -> None:
    document = {**canary_document}
    document["orchestrator"] = {
        **document["orchestrator"],
        "apptainer_docker_username": "CANARY-registry-user-5e1f",
        "apptainer_docker_password": "CANARY-registry-password-5e1f",
    }
    deployment = deploy(stack_with_secrets(tmp_path, document))
    delivered = stdin_secrets(commands(deployment, ORCHESTRATOR)["secrets"])
    token = document["orchestrator"]["infisical_token"]
    assert delivered[host_file_name_for("ORCHESTRATOR_INFISICAL_TOKEN")] == (
        f"INFISICAL_TOKEN={token}\n"
        "APPTAINER_DOCKER_USERNAME=CANARY-registry-user-5e1f\n"
        "APPTAINER_DOCKER_PASSWORD=CANARY-registry-password-5e1f\n"
    )
    assert "CANARY-registry" not in plan_json(deployment)


def host_file_name_for(name: str) -> str:
    from infra.config.hosts import SecretSource

    return host_file_name(SecretSource[name])


def test_several_relays_each_get_install_and_update(
    tmp_path: Path, canary_document: dict[str, Any], example_config: dict[str, Any]
) -> None:
    canary_document["relays"] = {"relay-2": {"infisical_relay_token": "CANARY-relay-2-token"}}
    raw = stack_with_secrets(tmp_path, canary_document, with_second_relay(example_config))
    deployment = deploy(raw)
    second = commands(deployment, "relaymd-relay-2")
    assert sorted(second) == ["install", "secrets", "update"]
    assert second["install"].inputs["triggers"] == ["relay-2-vm-id"]
    assert "relay-2-vm" in urn_names(second["install"])
    assert "relay-1-vm" not in urn_names(second["install"])
    assert second["install"].inputs["environment"][ENV_SSH_TARGET] == "admin@10.100.10.3"
    assert stdin_secrets(second["install"])[RELAY_TOKEN] == (
        "INFISICAL_RELAY_ENROLLMENT_TOKEN=CANARY-relay-2-token\n"
    )
    # The first relay runs no Infisical Relay: relay-2's token never reaches its commands.
    first = [commands(deployment, RELAY)[step] for step in ("install", "secrets", "update")]
    assert not [c.name for c in first if RELAY_TOKEN in stdin_secrets(c)]
    assert "CANARY-relay-2-token" not in plan_json(deployment)
    assert len(deployment.by_type(COMMAND)) == 8


def test_relay_secret_files_reach_an_installed_relay_when_they_change(
    tmp_path: Path, canary_document: dict[str, Any], example_config: dict[str, Any]
) -> None:
    """Turning on an Infisical Relay later needs a new file; the install never runs again."""
    before = commands(deploy(example_config), RELAY)
    enable_infisical_relay(example_config)
    canary_document["relays"] = {"relay-1": {"infisical_relay_token": "CANARY-relay-1-token"}}
    after = commands(deploy(stack_with_secrets(tmp_path, canary_document, example_config)), RELAY)
    assert before["install"].inputs["triggers"] == after["install"].inputs["triggers"]
    environment = after["secrets"].inputs["environment"]
    assert environment[ENV_HOST_FILE_PATHS].splitlines() == [
        f"tailscale-host-key {SECRETS_DIR}/tailscale-auth-key",
        f"infisical-relay-token {SECRETS_DIR}/infisical-relay.env",
    ]
    # The changed manifest is visible in the plan, so reviewers see why the step runs again.
    assert before["secrets"].inputs["environment"] != environment
    delivered = stdin_secrets(after["secrets"])
    assert delivered[RELAY_TOKEN] == "INFISICAL_RELAY_ENROLLMENT_TOKEN=CANARY-relay-1-token\n"
    # The relay's own deploy key logs the delivery in.
    assert delivered[STDIN_DEPLOY_KEY] == DEPLOY_PRIVATE_CANARY + "\n"
    assert stdin_secrets(before["secrets"]) != delivered


def test_the_update_keeps_its_state_from_when_nixoshost_was_its_parent(
    example_config: dict[str, Any],
) -> None:
    """NixosSwitch now owns the update; the alias makes pulumi up move it, not replace it."""
    deployment = deploy(example_config)
    for host in (RELAY, ORCHESTRATOR):
        prepared = deployment.named("relaymd:nixos:NixosHost", host)
        update = commands(deployment, host)["update"]
        assert update.alias_parents == (prepared.urn,)
