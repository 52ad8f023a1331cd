"""Auth key values never appear unmasked: plan.json, rendered files, logs, outputs."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pulumi
import pulumi_tailscale as tailscale
import pytest

from infra.config.hosts import orchestrator_host, relay_hosts
from infra.plan.document import plan_document, plan_json
from infra.plan.engine import run_program
from infra.plan.files import write_tree
from infra.plan.mocks import PlanMocks, run_mocked
from infra.plan.report import render_report
from infra.tailnet.component import Tailnet, TailnetArgs
from infra.tailnet.model import build_tailnet_model
from tests.support.decided import decided_from_sops
from tests.support.stacks import canary_values, example_raw_config
from tests.unit.tailnet.support import config_from

KEY = "tailscale:index/tailnetKey:TailnetKey"
WORKER_CANARY = "CANARY-tailscale-worker-key-5b1d"


def key_canary(args: Any) -> dict[str, Any]:
    # Each key gets its own canary, named after the resource that minted it.
    return {"key": WORKER_CANARY if args.name == "worker-key" else f"CANARY-{args.name}-5b1d"}


def test_worker_key_never_reaches_plan_files_or_logs(
    canary_stack: dict[str, Any],
    canary_document: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    deployment = run_program(
        "example", canary_stack, preview=False, resource_outputs={KEY: key_canary}
    )
    exported = deployment.outputs["TAILSCALE_AUTH_KEY"]
    # The value is really there (the wiring works) and really marked secret.
    assert exported.value == WORKER_CANARY
    assert exported.secret is True

    files = dict(decided_from_sops(canary_stack).artifacts)
    files["plan.json"] = plan_json(deployment)
    write_tree(tmp_path / "build", files)
    print(render_report(plan_document(deployment)))
    captured = capsys.readouterr()
    written = "".join(p.read_text() for p in (tmp_path / "build").rglob("*") if p.is_file())
    haystacks = {
        "plan.json": files["plan.json"],
        "rendered files": written,
        "stdout": captured.out,
        "stderr": captured.err,
        "logs": caplog.text,
    }
    secrets = [WORKER_CANARY, "CANARY-host-key-", *canary_values(canary_document)]
    leaks = [(where, s) for where, text in haystacks.items() for s in secrets if s in text]
    assert leaks == []
    assert '"TAILSCALE_AUTH_KEY": "[secret]"' in files["plan.json"]


def test_component_marks_every_key_output_secret_although_the_mock_does_not() -> None:
    """The mock engine leaves TailnetKey.key unmarked; the component's outputs must not be."""
    config = config_from(example_raw_config())
    model = build_tailnet_model(config, orchestrator_host(config), relay_hosts(config))
    mocks = PlanMocks(preview=False, resource_outputs={KEY: key_canary})
    seen: dict[str, tuple[Any, bool]] = {}

    async def inspect(name: str, output: pulumi.Output[str]) -> None:
        seen[name] = (await output.future(), await output.is_secret())

    async def program() -> None:
        provider = tailscale.Provider("tailscale", tailnet="example.org")
        tailnet = Tailnet("tailnet", TailnetArgs(model, provider))
        raw_key = tailnet.worker_key_resource.key
        await inspect("raw provider output", raw_key)
        await inspect("worker_key", tailnet.worker_key)
        for host, output in tailnet.host_keys.items():
            await inspect(f"host_keys[{host}]", output)

    run_mocked("t", mocks, program)
    # Proves the premise: the mock's own output is not secret...
    assert seen.pop("raw provider output") == (WORKER_CANARY, False)
    # ...and that every output the component exposes is.
    assert seen["worker_key"] == (WORKER_CANARY, True)
    assert {name: secret for name, (_, secret) in seen.items()} == {
        "worker_key": True,
        "host_keys[relaymd-orchestrator]": True,
        "host_keys[relaymd-relay]": True,
    }
    assert seen["host_keys[relaymd-relay]"][0] == "CANARY-host-key-relaymd-relay-5b1d"
