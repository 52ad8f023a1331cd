"""The orchestrator mounts the host's /run/tailscale read-only into RelayMD's container
(nixos/orchestrator.nix). This checks, with the real kernel in a private mount namespace, the
two things that rely on: through a read-only bind mount a client still connects to the
daemon's socket (connecting needs write permission on the socket, which a read-only mount does
not remove), while nothing can bind a second daemon's socket there, remove the live one or
write a state file. A read-write mount, the control, allows all of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import errno, json, os, socket, subprocess, sys
base, mode = sys.argv[1], sys.argv[2]
source, mounted = os.path.join(base, "run-tailscale"), os.path.join(base, "in-container")
os.makedirs(source)
os.makedirs(mounted)
daemon = socket.socket(socket.AF_UNIX)
daemon.bind(os.path.join(source, "tailscaled.sock"))
daemon.listen(1)
subprocess.run(["mount", "--bind", source, mounted], check=True)
if mode == "ro":
    subprocess.run(["mount", "-o", "remount,bind,ro", mounted], check=True)
result = {}
def attempt(name, action):
    try:
        action()
        result[name] = "ok"
    except OSError as error:
        result[name] = errno.errorcode[error.errno]
def path(name):
    return os.path.join(mounted, name)
attempt("connect", lambda: socket.socket(socket.AF_UNIX).connect(path("tailscaled.sock")))
attempt("second daemon", lambda: socket.socket(socket.AF_UNIX).bind(path("other.sock")))
attempt("state file", lambda: open(os.path.join(mounted, "tailscaled.state"), "w").close())
attempt("remove socket", lambda: os.unlink(os.path.join(mounted, "tailscaled.sock")))
print(json.dumps(result))
"""


UNSHARE = ["unshare", "--mount", "--propagation", "private"]


def probe(tmp_path: Path, mode: str) -> dict[str, str]:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private mount namespace")
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    result = subprocess.run(
        [*UNSHARE, sys.executable, str(script), str(tmp_path / mode), mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 and "Operation not permitted" in result.stderr:
        pytest.skip(f"no private mount namespace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    outcome: dict[str, str] = json.loads(result.stdout)
    return outcome


def test_a_read_only_mount_lets_relaymd_talk_to_the_daemon_but_not_replace_it(
    tmp_path: Path,
) -> None:
    assert probe(tmp_path, "ro") == {
        "connect": "ok",
        "second daemon": "EROFS",
        "state file": "EROFS",
        "remove socket": "EROFS",
    }


def test_control_a_read_write_mount_allows_a_second_daemon(tmp_path: Path) -> None:
    assert probe(tmp_path, "rw") == {
        "connect": "ok",
        "second daemon": "ok",
        "state file": "ok",
        "remove socket": "ok",
    }
