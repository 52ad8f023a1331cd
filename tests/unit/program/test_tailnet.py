"""The program's tailnet under the mock engine: resources, inputs, ordering, outputs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from infra.config.hosts import host_specs, orchestrator_host, relay_hosts
from infra.ground.contract import KNOWN_AFTER_APPLY
from infra.plan.document import plan_document
from infra.plan.engine import Deployment, run_program
from infra.plan.fakes import GET_DEVICE, GET_DEVICES
from infra.tailnet.model import build_tailnet_model
from tests.support.stacks import example_raw_config
from tests.unit.tailnet.support import config_from

ACL = "tailscale:index/acl:Acl"
KEY = "tailscale:index/tailnetKey:TailnetKey"
ROTATING = "time:index/rotating:Rotating"
SPLIT_DNS = "tailscale:index/dnsSplitNameservers:DnsSplitNameservers"
DEVICE_KEY = "tailscale:index/deviceKey:DeviceKey"
MAGIC_DNS = "tailscale:index/dnsPreferences:DnsPreferences"
NINETY_DAYS = 90 * 86_400


def rotation_at(timestamp: str) -> dict[str, Any]:
    return {ROTATING: lambda args: {"rfc3339": timestamp}}


def _filter(args: Any, name: str) -> list[str]:
    return next(f["values"] for f in args.args["filters"] if f["name"] == name)


def devices(
    addresses: dict[str, list[str]], extra: dict[str, list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """Play getDevice (the wait) and getDevices (the list) for joined hosts.

    ``extra`` adds devices the list returns beside each host's own (stale registrations).
    """

    def wait(args: Any) -> dict[str, Any]:
        host = args.args["hostname"]
        return {"addresses": addresses[host], "nodeId": f"stale-{host}", "hostname": host}

    def listing(args: Any) -> dict[str, Any]:
        (host,) = _filter(args, "hostname")
        own = {
            "addresses": addresses[host],
            "nodeId": f"node-{host}",
            "hostname": host,
            "tags": _filter(args, "tags"),
            "created": "2026-03-01T10:00:00Z",
            "lastSeen": "",
        }
        return {"devices": [*(extra or {}).get(host, []), own]}

    return {GET_DEVICE: wait, GET_DEVICES: listing}


def up(raw: dict[str, Any], **kwargs: Any) -> Deployment:
    return run_program("example", raw, preview=False, **kwargs)


def parent_of(deployment: Deployment, type_token: str, name: str) -> str | None:
    urn = deployment.named(type_token, name).parent_urn
    return urn.rsplit("::", 1)[-1] if urn else None


def test_acl_carries_the_rendered_policy_and_refuses_to_overwrite_by_default() -> None:
    raw = example_raw_config()
    deployment = run_program("example", raw)
    acl = deployment.named(ACL, "policy")
    config = config_from(raw)
    assert (
        acl.inputs["acl"]
        == build_tailnet_model(config, orchestrator_host(config), relay_hosts(config)).policy_text
    )
    assert acl.inputs["overwriteExistingContent"] is False
    assert acl.inputs["resetAclOnDestroy"] is False
    assert parent_of(deployment, ACL, "policy") == "tailnet"


def overwrite_policy(raw: dict[str, Any]) -> None:
    raw["tailnet"]["overwrite_existing_policy"] = True


def shorter_key_periods(raw: dict[str, Any]) -> None:
    raw["keys"] = {"worker_key_expiry_days": 45, "worker_key_rotation_days": 30}


@pytest.mark.parametrize(
    ("change", "type_token", "name", "field", "expected"),
    [
        pytest.param(
            overwrite_policy,
            ACL,
            "policy",
            "overwriteExistingContent",
            True,
            id="overwriting an existing policy is an explicit opt-in",
        ),
        pytest.param(
            lambda raw: None, MAGIC_DNS, "magic-dns", "magicDns", True, id="magic DNS is on"
        ),
        pytest.param(
            shorter_key_periods,
            ROTATING,
            "worker-key-rotation",
            "rotationDays",
            30,
            id="worker key rotation period comes from the config",
        ),
        pytest.param(
            shorter_key_periods,
            KEY,
            "worker-key",
            "expiry",
            45 * 86_400,
            id="worker key expiry comes from the config",
        ),
    ],
)
def test_a_setting_reaches_its_resource_input(
    change: Callable[[dict[str, Any]], None],
    type_token: str,
    name: str,
    field: str,
    expected: object,
) -> None:
    raw = example_raw_config()
    change(raw)
    value = run_program("example", raw).named(type_token, name).inputs[field]
    # A flag must be the boolean itself (1 == True); numbers cross the wire as floats.
    assert value is expected if isinstance(expected, bool) else value == expected


def test_worker_key_is_reusable_ephemeral_preauthorized_tagged_and_short_lived() -> None:
    key = run_program("example", example_raw_config()).named(KEY, "worker-key")
    assert key.inputs["reusable"] is True
    assert key.inputs["ephemeral"] is True
    assert key.inputs["preauthorized"] is True
    assert key.inputs["tags"] == ["tag:relaymd-worker"]
    assert key.inputs["recreateIfInvalid"] == "always"
    assert 0 < key.inputs["expiry"] <= NINETY_DAYS


def test_one_single_use_persistent_key_per_host_with_its_tag() -> None:
    raw = example_raw_config()
    deployment = run_program("example", raw)
    hosts = host_specs(config_from(raw))
    for host in hosts:
        key = deployment.named(KEY, f"host-key-{host.name}")
        assert key.inputs["reusable"] is False
        assert key.inputs["ephemeral"] is False
        assert key.inputs["preauthorized"] is True
        assert key.inputs["tags"] == [host.tag]
        assert key.inputs["recreateIfInvalid"] == "never"
        assert key.replacement_trigger is None
    assert len(deployment.by_type(KEY)) == len(hosts) + 1


def test_keys_wait_for_the_policy_that_declares_their_tags() -> None:
    deployment = run_program("example", example_raw_config())
    acl_urn = deployment.named(ACL, "policy").urn
    for key in deployment.by_type(KEY):
        assert acl_urn in key.dependencies


def test_worker_key_is_replaced_exactly_when_the_rotation_resource_rotates() -> None:
    raw = example_raw_config()
    before = up(raw, resource_outputs=rotation_at("2025-01-01T00:00:00Z"))
    same = up(raw, resource_outputs=rotation_at("2025-01-01T00:00:00Z"))
    rotated = up(raw, resource_outputs=rotation_at("2025-03-02T00:00:00Z"))
    trigger = before.named(KEY, "worker-key").replacement_trigger
    assert trigger == "2025-01-01T00:00:00Z"
    # The engine replaces the key when the trigger differs from the recorded one.
    assert same.named(KEY, "worker-key").replacement_trigger == trigger
    assert rotated.named(KEY, "worker-key").replacement_trigger == "2025-03-02T00:00:00Z"


def test_rotation_state_stays_in_the_engine_so_previews_are_identical() -> None:
    document = plan_document(run_program("example", example_raw_config()))
    rotation = next(r for r in document["resources"] if r["type"] == ROTATING)
    assert rotation["inputs"] == {"rotationDays": 60}


def test_split_dns_points_each_internal_domain_at_its_relays_tailnet_ipv4() -> None:
    raw = example_raw_config()
    second = {
        **raw["relays"][0],
        "name": "relay-2",
        "address": "10.100.10.3/24",
        "tailnet_hostname": "relaymd-relay-2",
    }
    raw["relays"].append(second)
    deployment = up(
        raw,
        call_results=devices(
            {
                "relaymd-orchestrator": ["100.64.0.1", "fd7a:115c:a1e0::1"],
                "relaymd-relay": ["fd7a:115c:a1e0::2", "100.64.0.2"],
                "relaymd-relay-2": ["100.64.0.3"],
            }
        ),
    )
    split = deployment.named(SPLIT_DNS, "split-dns-internal")
    assert split.inputs["domain"] == "internal"
    assert split.inputs["nameservers"] == ["100.64.0.2", "100.64.0.3"]
    assert len(deployment.by_type(SPLIT_DNS)) == 1
    waits = {
        call.args["hostname"]: call.args
        for call in deployment.mocks.calls
        if call.token == GET_DEVICE
    }
    assert set(waits) == {"relaymd-orchestrator", "relaymd-relay", "relaymd-relay-2"}
    assert all(args["waitFor"] for args in waits.values())
    listed = [call.args["filters"] for call in deployment.mocks.calls if call.token == GET_DEVICES]
    assert [
        {"name": "tags", "values": ["tag:relaymd-relay"]},
        {"name": "hostname", "values": ["relaymd-relay"]},
    ] in listed


def test_orchestrator_device_key_expiry_is_disabled() -> None:
    deployment = up(
        example_raw_config(),
        call_results=devices(
            {"relaymd-orchestrator": ["100.64.0.1"], "relaymd-relay": ["100.64.0.2"]}
        ),
    )
    device_key = deployment.named(DEVICE_KEY, "orchestrator-device-key")
    assert device_key.inputs == {
        "deviceId": "node-relaymd-orchestrator",
        "keyExpiryDisabled": True,
    }
    assert parent_of(deployment, DEVICE_KEY, "orchestrator-device-key") == "tailnet-devices"


def test_devices_are_looked_up_only_after_their_hosts_can_have_joined() -> None:
    deployment = run_program("example", example_raw_config(), preview=True)
    assert deployment.mocks.calls == []
    document = plan_document(deployment)
    split = next(r for r in document["resources"] if r["type"] == SPLIT_DNS)
    assert split["inputs"]["nameservers"] == KNOWN_AFTER_APPLY


def test_a_relay_without_a_tailnet_ipv4_fails_the_run_naming_it() -> None:
    with pytest.raises(Exception, match=r"relaymd-relay.*no IPv4"):
        up(
            example_raw_config(),
            call_results=devices(
                {"relaymd-orchestrator": ["100.64.0.1"], "relaymd-relay": ["fd7a:115c:a1e0::2"]}
            ),
        )
    # The failure stays in its own run: the next run in this process succeeds.
    assert up(example_raw_config()).named(DEVICE_KEY, "orchestrator-device-key")


def test_outputs_orchestrator_url_and_the_worker_key_as_a_secret() -> None:
    deployment = run_program("example", example_raw_config())
    assert deployment.outputs["RELAYMD_ORCHESTRATOR_URL"].value == (
        "http://relaymd-orchestrator.tail0a1b2c.ts.net:36158"
    )
    assert deployment.outputs["TAILSCALE_AUTH_KEY"].secret is True
    assert plan_document(deployment)["outputs"]["TAILSCALE_AUTH_KEY"] == "[secret]"


def test_orchestrator_url_follows_hostname_suffix_and_port() -> None:
    raw = example_raw_config()
    raw["orchestrator"]["tailnet_hostname"] = "orch"
    raw["orchestrator"]["port"] = 4000
    raw["tailnet"]["magic_dns_suffix"] = "tail9.ts.net"
    deployment = run_program("example", raw)
    assert deployment.outputs["RELAYMD_ORCHESTRATOR_URL"].value == "http://orch.tail9.ts.net:4000"
    acl = deployment.named(ACL, "policy").inputs["acl"]
    assert '"tag:relaymd-orchestrator:4000"' in acl


def _stale(host: str, tags: list[str], created: str, last_seen: str) -> dict[str, Any]:
    return {
        "addresses": ["100.64.9.9"],
        "nodeId": f"old-{host}-{created[:4]}",
        "hostname": host,
        "tags": tags,
        "created": created,
        "lastSeen": last_seen,
    }


def test_after_a_reinstall_the_newest_device_with_the_hosts_tag_is_used() -> None:
    """The old, offline device of the same name must not receive split DNS."""
    deployment = up(
        example_raw_config(),
        call_results=devices(
            {"relaymd-orchestrator": ["100.64.0.1"], "relaymd-relay": ["100.64.0.2"]},
            extra={
                "relaymd-relay": [
                    _stale("relaymd-relay", ["tag:relaymd-relay"], "2025-01-01T00:00:00Z", "x"),
                    _stale("relaymd-relay", ["tag:other"], "2027-01-01T00:00:00Z", ""),
                ]
            },
        ),
    )
    split = deployment.named(SPLIT_DNS, "split-dns-internal")
    assert split.inputs["nameservers"] == ["100.64.0.2"]
    device_key = deployment.named(DEVICE_KEY, "orchestrator-device-key")
    assert device_key.inputs["deviceId"] == "node-relaymd-orchestrator"


def test_two_online_devices_for_one_host_fail_the_run_naming_them() -> None:
    with pytest.raises(Exception, match=r"2 online tailnet devices are named 'relaymd-relay'"):
        up(
            example_raw_config(),
            call_results=devices(
                {"relaymd-orchestrator": ["100.64.0.1"], "relaymd-relay": ["100.64.0.2"]},
                extra={
                    "relaymd-relay": [
                        _stale("relaymd-relay", ["tag:relaymd-relay"], "2025-01-01T00:00:00Z", "")
                    ]
                },
            ),
        )


def test_rotation_keeps_the_old_worker_key_and_destroy_keeps_magic_dns() -> None:
    """Deleting a key revokes it; deleting DnsPreferences turns MagicDNS off tailnet-wide."""
    deployment = run_program("example", example_raw_config())
    worker = deployment.named(KEY, "worker-key")
    assert worker.retain_on_delete is True
    assert worker.replacement_trigger is not None
    assert "key" in worker.additional_secret_outputs
    assert deployment.named(MAGIC_DNS, "magic-dns").retain_on_delete is True
    # Single-use host keys are spent once used: replacing one may revoke it.
    host_keys = [r for r in deployment.by_type(KEY) if r.name != "worker-key"]
    assert host_keys and not any(key.retain_on_delete for key in host_keys)
