"""Stand-in tailscaled: serves the LocalAPI status on a unix socket.

Upstream (tailscale v1.84.3, what the default nixos-26.05 pin ships): the CLI
reads ``GET /localapi/v0/status`` over ``--socket`` (client/local/local.go,
``status``) and prints the decoded ``ipnstate.Status`` (ipn/ipnstate/ipnstate.go).
This stand-in answers that one request from a node file the topology writes (re-read on
every request, so a test can take the node offline), with the fields ``Status`` and
``PeerStatus`` carry at that version.
``--state=mem:`` is how tailscaled registers an ephemeral node
(cmd/tailscaled/tailscaled.go); any other ``--state`` path is written like a state file.

    python3 tailscaled.py --socket=PATH --state=PATH --node=NODE.json
"""

from __future__ import annotations

import argparse
import json
import os
import socketserver
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

VERSION = "1.84.3-standin"
STATUS_PATH = "/localapi/v0/status"


def peer_status(node: dict[str, Any], suffix: str) -> dict[str, Any]:
    """ipnstate.PeerStatus for the node itself (``Self``), v1.84.3 field names."""
    hostname = node["HostName"]
    return {
        "ID": node.get("ID", "n" + hostname),
        "PublicKey": "nodekey:" + hostname.encode().hex().ljust(64, "0")[:64],
        "HostName": hostname,
        # DNSName ends with a dot: "host.<MagicDNSSuffix>." (ipnstate.go).
        "DNSName": f"{node.get('DNSLabel', hostname)}.{suffix}.",
        "OS": "linux",
        "UserID": 1,
        "TailscaleIPs": node["TailscaleIPs"],
        "AllowedIPs": [f"{ip}/{128 if ':' in ip else 32}" for ip in node["TailscaleIPs"]],
        **({"Tags": node["Tags"]} if node.get("Tags") else {}),
        "Addrs": None,
        "CurAddr": "",
        "Relay": "",
        "RxBytes": 0,
        "TxBytes": 0,
        "Created": "2026-01-01T00:00:00Z",
        "LastWrite": "0001-01-01T00:00:00Z",
        "LastSeen": "0001-01-01T00:00:00Z",
        "LastHandshake": "0001-01-01T00:00:00Z",
        "Online": node["BackendState"] == "Running",
        "ExitNode": False,
        "ExitNodeOption": False,
        "Active": False,
        "PeerAPIURL": None,
        "TaildropTarget": 0,
        "NoFileSharingReason": "",
        "InNetworkMap": True,
        "InMagicSock": False,
        "InEngine": False,
    }


def status(node: dict[str, Any]) -> dict[str, Any]:
    """ipnstate.Status as ``tailscale status --json`` prints it (v1.84.3)."""
    running = node["BackendState"] == "Running"
    suffix = node["MagicDNSSuffix"]
    return {
        "Version": VERSION,
        "TUN": True,
        "BackendState": node["BackendState"],
        "HaveNodeKey": True,
        "AuthURL": "",
        "TailscaleIPs": node["TailscaleIPs"] if running else None,
        "Self": peer_status(node, suffix),
        "Health": [] if running else ["not in map poll"],
        "MagicDNSSuffix": suffix,
        "CurrentTailnet": (
            {
                "Name": node.get("Tailnet", "example.org"),
                "MagicDNSSuffix": suffix,
                "MagicDNSEnabled": True,
            }
            if running
            else None
        ),
        "CertDomains": None,
        "Peer": None,
        "User": None,
        "ClientVersion": None,
    }


class _Handler(BaseHTTPRequestHandler):
    node_file: Path

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != STATUS_PATH:
            self.send_error(404)
            return
        body = json.dumps(status(json.loads(self.node_file.read_text()))).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the harness reads results, not access logs."""

    def address_string(self) -> str:
        return "local"


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--node", required=True, type=Path)
    arguments = parser.parse_args()
    if not arguments.state.startswith("mem:"):
        Path(arguments.state).write_text(json.dumps({"_machinekey": "standin"}))
    if os.path.exists(arguments.socket):
        os.unlink(arguments.socket)
    _Handler.node_file = arguments.node
    with _Server(arguments.socket, _Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
