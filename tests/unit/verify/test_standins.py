"""The stand-ins behave like upstream where the checks look, and ``scripts/verify
--healthz`` judges the stand-in RelayMD API over loopback (no root needed)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from infra.cli import app as cli

ROOT = Path(__file__).resolve().parents[3]
STANDINS = ROOT / "tests" / "support" / "topology" / "standins"

# ipnstate.Status and PeerStatus fields at tailscale v1.98.5 (ipn/ipnstate/ipnstate.go); the
# PeerStatus fields marked omitempty there (AllowedIPs, Tags, PrimaryRoutes...) come and go.
STATUS_FIELDS = {
    "Version",
    "TUN",
    "BackendState",
    "HaveNodeKey",
    "AuthURL",
    "TailscaleIPs",
    "Self",
    "Health",
    "MagicDNSSuffix",
    "CurrentTailnet",
    "CertDomains",
    "Peer",
    "User",
    "ClientVersion",
}
SELF_FIELDS = {
    "ID", "PublicKey", "HostName", "DNSName", "OS", "UserID", "TailscaleIPs", "Addrs",
    "CurAddr", "Relay", "PeerRelay", "RxBytes", "TxBytes", "Created", "LastWrite", "LastSeen",
    "LastHandshake", "Online", "ExitNode", "ExitNodeOption", "Active", "PeerAPIURL",
    "TaildropTarget", "NoFileSharingReason", "InNetworkMap", "InMagicSock", "InEngine",
}  # fmt: skip
OMITEMPTY = {"AltSharerUserID", "AllowedIPs", "Tags", "PrimaryRoutes", "Capabilities", "CapMap",
             "sshHostKeys", "ShareeNode", "Expired", "KeyExpiry", "Location"}  # fmt: skip
KEY = "ZmFrZS1rZXktZm9yLXRoZS1zdGFuZC1pbi10ZXN0cy0="  # 32 bytes, base64 like wg's keys


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Node:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "tailscaled.sock"
        self.file = directory / "netmap.json"
        self.bin = directory / "bin"
        self.bin.mkdir()
        launcher = self.bin / "tailscale"
        launcher.write_text(
            f'#!/bin/sh\nexec {sys.executable} {STANDINS / "tailscale_cli.py"} "$@"\n'
        )
        launcher.chmod(0o755)
        self.env = {**os.environ, "PATH": f"{self.bin}:{os.environ['PATH']}"}
        self.write("Running")

    def write(self, state: str, label: str = "relaymd-orchestrator") -> None:
        """A netmap, as the control stand-in writes it (tests/support/topology/control.py)."""
        self.generation = getattr(self, "generation", 0) + 1
        self.file.write_text(
            json.dumps(
                {
                    "Generation": self.generation,
                    "BackendState": state,
                    "MagicDNSSuffix": "tail0a1b2c.ts.net",
                    "PrivateKeyFile": "",
                    "ListenPort": 41641,
                    "Self": {
                        "HostName": "relaymd-orchestrator",
                        "DNSLabel": label,
                        "TailscaleIPs": ["100.101.0.1"],
                        "Tags": ["tag:relaymd-orchestrator"],
                        "PublicKey": KEY,
                        "Online": True,
                    },
                    "Peers": [
                        {
                            "HostName": "relaymd-worker-1",
                            "DNSLabel": "relaymd-worker-1",
                            "TailscaleIPs": ["100.101.0.3"],
                            "Tags": ["tag:relaymd-worker"],
                            "PublicKey": KEY,
                            "Online": False,
                            "Endpoint": "198.18.0.3:41641",
                            "AllowedIPs": ["100.101.0.3/32"],
                        }
                    ],
                }
            )
        )
        applied = self.directory / "netmap.applied"
        deadline = time.monotonic() + 10
        while self.socket.exists() and time.monotonic() < deadline:
            if applied.exists() and applied.read_text() == str(self.generation):
                break
            time.sleep(0.02)

    def status(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tailscale", f"--socket={self.socket}", "status", "--json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    node = Node(tmp_path)
    daemon = subprocess.Popen(
        [
            sys.executable,
            str(STANDINS / "tailscaled.py"),
            f"--socket={node.socket}",
            f"--state={tmp_path / 'state'}",
            f"--netmap={node.file}",
            "--tun=userspace-networking",  # no interface here: no root, no namespace
        ]
    )
    try:
        deadline = time.monotonic() + 10
        while not node.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield node
    finally:
        daemon.kill()
        daemon.wait()


def test_tailscale_status_json_has_upstream_shape(node: Node) -> None:
    result = node.status()
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert set(status) == STATUS_FIELDS
    assert SELF_FIELDS <= set(status["Self"]) <= SELF_FIELDS | OMITEMPTY
    assert status["Self"]["DNSName"] == "relaymd-orchestrator.tail0a1b2c.ts.net."
    assert status["BackendState"] == "Running"
    (key, peer) = next(iter(status["Peer"].items()))
    assert key.startswith("nodekey:") and len(key) == len("nodekey:") + 64
    assert (peer["Tags"], peer["Online"]) == (["tag:relaymd-worker"], False)
    node.write("NeedsLogin")
    assert json.loads(node.status().stdout)["Peer"] is None  # logged out: no netmap


def test_tailscale_ping_answers_like_upstream(node: Node) -> None:
    """ping.go runPing: an address no peer holds is "no matching peer" (exit 1); one's own
    address says so (exit 0); a node not Running prints its state (exit 1)."""

    def ping(*arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tailscale", f"--socket={node.socket}", "ping", *arguments],
            env=node.env,
            capture_output=True,
            text=True,
            check=False,
        )

    unknown = ping("--tsmp", "-c", "1", "--timeout", "1s", "100.101.0.9")
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "no matching peer")
    mine = ping("--icmp", "100.101.0.1")
    assert (mine.returncode, mine.stdout.strip()) == (0, "100.101.0.1 is local Tailscale IP")
    node.write("NeedsLogin")
    logged_out = ping("--tsmp", "100.101.0.3")
    assert (logged_out.returncode, logged_out.stdout.strip()) == (1, "Logged out.")


def test_tailscale_cli_without_a_daemon_fails_like_upstream(tmp_path: Path) -> None:
    lonely = Node(tmp_path)
    result = lonely.status()
    assert result.returncode == 1
    assert "failed to connect to local tailscaled" in result.stderr


@contextmanager
def _api_on(node: Node, address: str) -> Iterator[int]:
    """The stand-in API on ``address`` (listening once a connection succeeds); its port."""
    port = _free_port()
    warnings = node.directory / "warnings.json"
    warnings.write_text("[]")
    server = subprocess.Popen(
        [
            sys.executable,
            str(STANDINS / "relaymd_healthz.py"),
            *("--listen", address, "--port", str(port)),
            *("--socket", str(node.socket), "--warnings", str(warnings)),
        ],
        env=node.env,
    )
    try:
        deadline = time.monotonic() + 10
        while not _connects(address, port):
            assert time.monotonic() < deadline, f"the stand-in did not listen on {address}"
            time.sleep(0.05)
        yield port
    finally:
        server.kill()
        server.wait()


def _connects(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def api(node: Node) -> Iterator[tuple[Node, str]]:
    with _api_on(node, "127.0.0.1") as port:
        yield node, f"http://127.0.0.1:{port}/healthz"


def test_verify_healthz_exit_status_and_one_line(
    api: tuple[Node, str], capsys: pytest.CaptureFixture[str]
) -> None:
    node, url = api
    assert cli.main(["verify", "--healthz", url, "--hostname", "relaymd-orchestrator"]) == 0
    assert capsys.readouterr().out.startswith("healthy: relaymd-orchestrator.tail0a1b2c.ts.net")

    node.write("NeedsLogin")
    assert cli.main(["verify", "--healthz", url]) == 1
    out = capsys.readouterr().out
    assert out == "unhealthy: tailscale not connected: BackendState='NeedsLogin'\n"

    node.write("Running", label="relaymd-orchestrator-1")
    assert cli.main(["verify", "--healthz", url, "--hostname", "relaymd-orchestrator"]) == 1
    assert "MagicDNS label 'relaymd-orchestrator-1'" in capsys.readouterr().out


def test_verify_healthz_without_an_answer_and_with_a_bad_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert (
        cli.main(
            ["verify", "--healthz", f"http://127.0.0.1:{_free_port()}/healthz", "--timeout", "2"]
        )
        == 1
    )
    assert capsys.readouterr().out.startswith("unhealthy: http://127.0.0.1:")
    assert cli.main(["verify", "--healthz", "relaymd-orchestrator:36158"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_verify_healthz_names_a_bad_port_and_a_non_http_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for url in ("http://relaymd-orchestrator:port/healthz", "http://[::1/healthz"):
        assert cli.main(["verify", "--healthz", url]) == 2
        assert "is not a valid URL" in capsys.readouterr().err
    with socket.socket() as listener:  # answers like sshd: a banner, then it hangs up
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/healthz"

        def banner() -> None:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")

        thread = threading.Thread(target=banner)
        thread.start()
        assert cli.main(["verify", "--healthz", url, "--timeout", "5"]) == 1
        thread.join()
    assert capsys.readouterr().out.startswith(f"unhealthy: {url}: no HTTP answer")


def test_verify_healthz_ignores_proxy_variables(
    api: tuple[Node, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A proxy would judge its own path, not this machine's: the request goes direct."""
    _, url = api
    unreachable = f"http://127.0.0.1:{_free_port()}"
    for variable in ("http_proxy", "HTTP_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.setenv(variable, unreachable)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    assert cli.main(["verify", "--healthz", url, "--hostname", "relaymd-orchestrator"]) == 0
    assert capsys.readouterr().out.startswith("healthy: ")


def test_api_stand_in_on_ipv6_any_is_ipv6_only_like_uvicorn(node: Node) -> None:
    """asyncio's create_server sets IPV6_V6ONLY: RelayMD on "::" refuses IPv4."""
    if not socket.has_ipv6 or not Path("/proc/net/if_inet6").exists():
        pytest.skip("this kernel has no IPv6")
    with _api_on(node, "::") as port:
        assert _connects("::1", port)
        assert not _connects("127.0.0.1", port)


def test_api_stand_in_without_the_tailscale_binary_answers_like_relaymd(
    api: tuple[Node, str],
) -> None:
    node, url = api
    if shutil.which("tailscale", path=node.env["PATH"].split(":", 1)[1]):
        pytest.skip("a real tailscale CLI is on PATH: the stand-in's absence would not show")
    (node.bin / "tailscale").unlink()
    with urllib.request.urlopen(url, timeout=15) as response:  # noqa: S310 - loopback
        document = json.loads(response.read())
    assert response.status == 200
    assert document["status"] == "ok"
    assert document["warnings"] == [
        "tailscale binary not found; Tailscale connectivity cannot be verified."
    ]
    assert document["tailscale"]["connected"] is False
    assert "tailscale" in document["tailscale"]["error"]
