"""Every script's own arguments: bad values exit 2 naming the option, never a traceback."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import app
from tests.support.stacks import canary_secrets_document, example_raw_config, stack_with_secrets

SCRIPTS: dict[str, list[str]] = {
    "plan": ["plan"],
    "secrets-check": ["secrets-check"],
    "nixos-build": ["nixos-build", "--eval-only"],
    "verify": ["verify"],
}


def _exit_status(argv: Sequence[str]) -> int:
    try:
        return app.main(argv)
    except SystemExit as exited:  # argparse refuses an argument this way
        return int(exited.code or 0)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
@pytest.mark.parametrize("stack", ["../etc", "Prod", "a b", "x\n", "-", "a" * 64])
def test_a_stack_name_that_is_not_a_label_exits_2(
    script: str, stack: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = _exit_status([*SCRIPTS[script], "--stack", stack, "--project-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "--stack" in err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://a b/healthz",
        "http://host\n:36158",
        "http://[::1",
        "http://127.0.0.1:99999",
        "ftp://127.0.0.1/",
        "http://",
        "http://127.0.0.1:36158/\x1b[2J",
    ],
)
def test_a_bad_healthz_url_exits_2(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    status = app.main(["verify", "--healthz", url, "--timeout", "0.1"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "--healthz" in err
    assert "Traceback" not in err


@pytest.fixture(scope="module")
def checked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site-url")
    raw: dict[str, Any] = stack_with_secrets(root, canary_secrets_document(), example_raw_config())
    stack_file = {"config": {f"relaymd-infra:{key}": value for key, value in raw.items()}}
    (root / "Pulumi.checked.yaml").write_text(yaml.safe_dump(stack_file))
    return root


@pytest.mark.parametrize("url", ["ftp://x", "https://x\n", "https://[::1", "infisical.example"])
def test_secrets_check_refuses_a_bad_site_url_with_exit_2(
    url: str, checked_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--stack", "checked", "--project-dir", str(checked_project), "--site-url", url]
    status = _exit_status(["secrets-check", *argv])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "--site-url" in err
    assert "Traceback" not in err


def _closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_secrets_check_reports_an_unreachable_infisical_with_exit_3(
    checked_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{_closed_loopback_port()}"
    argv = ["--stack", "checked", "--project-dir", str(checked_project), "--site-url", url]
    status = app.main(["secrets-check", *argv])
    captured = capsys.readouterr()
    assert status == 3, captured.err
    assert f"Could not reach Infisical at {url}" in captured.err
    assert "Traceback" not in captured.err
    assert "CANARY" not in captured.out + captured.err
