"""pytest fixtures around :class:`Topology`: built once per session, always torn down."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.golden import whole_render
from tests.support.topology.netns import reap_stale
from tests.support.topology.topology import Topology

REQUIRED_TOOLS = (
    "ip",
    "nft",
    "sshd",
    "ssh",
    "ssh-keygen",
    "socat",
    "dnsmasq",
    "curl",
    "nix-instantiate",
    "wireguard-go",
    "wg",
)


def skip_reason() -> str | None:
    """Why namespaced hosts cannot be built here, or None."""
    if os.geteuid() != 0:
        return "the namespaced topology needs root (network namespaces, nftables); CI runs as root"
    missing = [
        tool
        for tool in REQUIRED_TOOLS
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists()
    ]
    if missing:
        return f"the namespaced topology needs {', '.join(missing)} (scripts/test installs them)"
    return None


@pytest.fixture(scope="session")
def topology(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Topology]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    reap_stale()
    # A CI timeout sends SIGTERM: stop the run as Ctrl-C does, so finalizers and atexit run.
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    built = Topology(whole_render(tmp_path_factory.mktemp("render") / "example"))
    request.addfinalizer(built.close)
    built.build()
    yield built
