"""The plan harness runs the real program under the mock engine and records it."""

from __future__ import annotations

from typing import Any

from infra.ground.contract import KNOWN_AFTER_APPLY
from infra.plan.document import plan_document, plan_json
from infra.plan.engine import run_program


def test_program_declares_providers_with_masked_credentials(example_config: dict[str, Any]) -> None:
    deployment = run_program("example", example_config, preview=True)
    document = plan_document(deployment)
    tailscale = next(r for r in document["resources"] if r["type"] == "pulumi:providers:tailscale")
    assert tailscale["inputs"]["oauthClientSecret"] == "[secret]"
    assert tailscale["inputs"]["tailnet"] == "example.org"
    assert document["outputs"]["RELAYMD_ORCHESTRATOR_URL"] == (
        "http://relaymd-orchestrator.tail0a1b2c.ts.net:36158"
    )
    outputs = dict(document["outputs"])
    # Relays' host keys are generated at `pulumi up`: public, and known only then.
    assert outputs.pop("RELAYMD_SSH_HOST_KEYS") == KNOWN_AFTER_APPLY
    assert KNOWN_AFTER_APPLY not in outputs.values()


def test_runs_are_isolated_and_byte_identical(example_config: dict[str, Any]) -> None:
    first = plan_json(run_program("example", example_config, preview=True))
    second = plan_json(run_program("example", example_config, preview=True))
    assert first == second


def test_canary_secrets_never_reach_plan_json(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    from tests.support.stacks import canary_values

    text = plan_json(run_program("example", canary_stack, preview=False))
    leaked = [value for value in canary_values(canary_document) if value in text]
    assert leaked == []


def test_program_refuses_bad_config_before_declaring_anything(
    example_config: dict[str, Any],
) -> None:
    """The `pulumi up` path: the same validation, reported without a traceback."""
    import pulumi
    import pytest

    from infra.plan.mocks import PlanMocks, RecordingMonitor

    example_config["relays"][0]["vlan"] = 5000
    recorded: list[RecordingMonitor] = []
    original_init = RecordingMonitor.__init__

    def remember(self: RecordingMonitor, mocks: PlanMocks) -> None:
        original_init(self, mocks)
        recorded.append(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RecordingMonitor, "__init__", remember)
        with pytest.raises(pulumi.RunError, match=r"relays\[0\]\.vlan: got 5000"):
            run_program("example", example_config, preview=True)
    assert recorded[0].recorded == []


def test_program_refuses_a_misspelt_top_level_key_instead_of_ignoring_it(
    example_config: dict[str, Any],
) -> None:
    """Under `pulumi up` a typo such as `relay:` must not drop the relays (and their VMs)."""
    import pulumi
    import pytest

    example_config["relay"] = example_config.pop("relays")
    with pytest.raises(pulumi.RunError, match=r"relaymd-infra:relay: got \"relay\"") as raised:
        run_program("example", example_config, preview=True)
    assert "one of relaymd-infra:tailnet" in str(raised.value)


def test_program_refuses_a_secure_value_in_the_stack_config(
    example_config: dict[str, Any],
) -> None:
    import pulumi
    import pytest

    example_config["infisical"] = {"secure": "v1:CANARY-encrypted"}
    with pytest.raises(pulumi.RunError, match="secret values belong in the stack's SOPS file"):
        run_program("example", example_config, preview=True)
