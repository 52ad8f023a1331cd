"""sops runs once per plan, bounded in time, and leaves nothing running behind it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

import infra.config.sops
from infra.config.sops import start_decryption
from infra.ground.errors import ConfigError


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie has exited; only its parent has not reaped it yet.
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def test_a_hung_sops_is_killed_with_everything_it_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key service that never answers must not leave an orphan (a plugin, a helper)."""
    child_pid = tmp_path / "child.pid"
    hung = tmp_path / "sops"
    hung.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {child_pid}\nwait\n")
    hung.chmod(0o755)
    secrets = tmp_path / "stack.sops.yaml"
    secrets.write_text("tailscale: {}\n")
    monkeypatch.setattr(infra.config.sops, "sops_binary", lambda: str(hung))
    monkeypatch.setattr(infra.config.sops, "SOPS_TIMEOUT_SECONDS", 1)
    with pytest.raises(ConfigError, match="did not answer"):
        start_decryption(secrets, age_key_file=None, field="sops.file").document()
    pid = int(child_pid.read_text())
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the process sops started outlived the timeout"


def test_a_missing_age_key_file_is_named_as_such(tmp_path: Path) -> None:
    secrets = tmp_path / "stack.sops.yaml"
    secrets.write_text("tailscale: {}\n")
    with pytest.raises(ConfigError) as raised:
        start_decryption(secrets, age_key_file=tmp_path / "missing.key", field="sops.file")
    assert raised.value.issues[0].path == "sops.age_key_file"


def test_a_decryption_nobody_waited_for_ends_with_its_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan starts sops early; an error before it waits (an import) must not leave sops."""
    child_pid = tmp_path / "child.pid"
    slow = tmp_path / "sops"
    slow.write_text(f"#!/bin/sh\nsleep 30 &\necho $! > {child_pid}\nwait\n")
    slow.chmod(0o755)
    secrets = tmp_path / "stack.sops.yaml"
    secrets.write_text("tailscale: {}\n")
    monkeypatch.setattr(infra.config.sops, "sops_binary", lambda: str(slow))
    with (
        pytest.raises(RuntimeError, match="before waiting"),
        start_decryption(secrets, age_key_file=None, field="sops.file"),
    ):
        for _ in range(50):
            if child_pid.exists() and child_pid.read_text().strip():
                break
            time.sleep(0.1)
        raise RuntimeError("failed before waiting for sops")
    pid = int(child_pid.read_text())
    for _ in range(50):
        if not _alive(pid):
            break
        time.sleep(0.1)
    assert not _alive(pid), "the process sops started outlived its block"
