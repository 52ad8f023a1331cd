"""``scripts/secrets-check`` against the contract fake: names only, read-only, exit codes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import app
from infra.ground.relaymd import (
    Consumer,
    StorageProvider,
    optional_names,
    required_names,
)
from infra.infisical.check import check_findings, render_findings
from tests.support.infisical_fake import InfisicalContractFake, serve
from tests.support.stacks import (
    canary_secrets_document,
    example_raw_config,
    stack_with_secrets,
)


def write_project(tmp_path: Path, document: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """A project directory with stack ``checked`` whose SOPS file holds ``document``."""
    raw = stack_with_secrets(tmp_path, document, example_raw_config())
    stack_file = {"config": {f"relaymd-infra:{key}": value for key, value in raw.items()}}
    (tmp_path / "Pulumi.checked.yaml").write_text(yaml.safe_dump(stack_file))
    return tmp_path, raw


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    document = canary_secrets_document()
    document["relaymd"]["AXIOM_TOKEN"] = " CANARY-padded-axiom-7f3a9c "
    return write_project(tmp_path_factory.mktemp("check"), document)


@pytest.fixture
def infisical(project: tuple[Path, dict[str, Any]]) -> Iterator[tuple[InfisicalContractFake, str]]:
    _, raw = project
    document = canary_secrets_document()
    fake = InfisicalContractFake()
    fake.add_identity(document["infisical"]["client_id"], document["infisical"]["client_secret"])
    fake.add_environment(raw["infisical"]["project_id"], "prod")
    with serve(fake) as url:
        yield fake, url


def run(project_dir: Path, url: str, *extra: str) -> int:
    return app.main(
        [
            "secrets-check",
            "--stack",
            "checked",
            "--project-dir",
            str(project_dir),
            "--site-url",
            url,
            *extra,
        ]
    )


def test_an_empty_project_misses_everything_and_exits_1(
    project: tuple[Path, dict[str, Any]],
    infisical: tuple[InfisicalContractFake, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = infisical
    assert run(project[0], url) == 1
    out = capsys.readouterr().out
    assert "no secret is visible there" in out
    assert "worker: MISSING AXIOM_TOKEN, TAILSCALE_AUTH_KEY" in out
    assert "relaymd.AXIOM_TOKEN" in out  # its SOPS value has surrounding spaces
    assert "CANARY" not in out
    assert {method for method, _ in fake.requests} == {"POST", "GET"}
    assert fake.calls("POST") == ["/api/v1/auth/universal-auth/login"]


def test_a_complete_project_passes_and_names_extras_and_trimmed_values(
    project: tuple[Path, dict[str, Any]],
    infisical: tuple[InfisicalContractFake, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake, url = infisical
    project_id = project[1]["infisical"]["project_id"]
    storage = StorageProvider(project[1]["orchestrator"]["storage_provider"])
    required = {name for c in Consumer for name in required_names(c, storage)}
    for name in sorted(required):
        fake.put_secret(project_id, "prod", "/RelayMD", name, f"CANARY-{name}-live")
    fake.put_secret(project_id, "prod", "/RelayMD", "LEFTOVER", "CANARY-leftover")
    # Stored before trimming existed (or by another route): the next write trims it.
    stored = next(s for s in fake.secrets.values() if s.key == "AXIOM_TOKEN")
    stored.value = "CANARY-padded \t"
    assert run(project[0], url) == 0
    out = capsys.readouterr().out
    assert "extra names no RelayMD component reads: LEFTOVER" in out
    assert f"(trimmed on the next write): {stored.key}" in out
    assert "Result: every component ok" in out
    assert f"(storage provider: {storage.value})" in out
    assert "CANARY" not in out
    assert set(fake.calls("POST")) == {"/api/v1/auth/universal-auth/login"}
    assert not fake.calls("PATCH") and not fake.calls("DELETE")


def test_a_refused_identity_exits_3(
    tmp_path: Path, infisical: tuple[InfisicalContractFake, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = infisical
    document = canary_secrets_document()
    document["infisical"]["client_secret"] = "CANARY-wrong-secret"
    project_dir, _ = write_project(tmp_path, document)
    assert run(project_dir, url) == 3
    captured = capsys.readouterr()
    assert "machine identity" in captured.err
    assert "CANARY" not in captured.out + captured.err


def test_an_unreachable_infisical_exits_3(
    project: tuple[Path, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The SDK retries refused connections 4 times, 1-8 s apart: skip its waits.
    monkeypatch.setattr("infisical_sdk.infisical_requests.time.sleep", lambda _seconds: None)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    assert run(project[0], closed) == 3
    captured = capsys.readouterr()
    assert f"Could not reach Infisical at {closed}" in captured.err
    assert "Traceback" not in captured.err
    assert "CANARY" not in captured.out + captured.err


def test_a_bad_stack_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["secrets-check", "--stack", "absent", "--project-dir", str(tmp_path)]) == 2
    assert "Pulumi.absent.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("storage", list(StorageProvider))
def test_storage_secrets_are_required_only_under_their_provider(storage: StorageProvider) -> None:
    other = next(s for s in StorageProvider if s is not storage)
    live = {name: "v" for consumer in Consumer for name in required_names(consumer, storage)}
    assert not check_findings("here", storage, live, {}).anything_missing
    findings = check_findings("here", other, live, {})
    missing = {f.consumer: f.missing for f in findings.consumers if f.missing}
    assert set(missing) == {Consumer.WORKER, Consumer.CLI}


def test_optional_names_never_repeat_required_ones() -> None:
    for consumer in Consumer:
        for storage in StorageProvider:
            assert not set(optional_names(consumer, storage)) & set(
                required_names(consumer, storage)
            )


def test_rendering_never_shows_a_value() -> None:
    findings = check_findings("here", StorageProvider.PURDUE, {"X": " CANARY-x "}, {"Y": "CANARY "})
    text = render_findings(findings)
    assert "CANARY" not in text
    assert "X" in text and "relaymd.Y" in text
