"""Stand-in RelayMD orchestrator API: ``GET /healthz`` only, with RelayMD's exact shapes.

Transcribed from RelayMD 0.2.21, ``src/relaymd/orchestrator/main.py``:
- ``healthz``: always 200 ``{"status": "ok", "version", "warnings", "tailscale"}``;
  warnings are the startup ones plus the scheduler's runtime ones
  (``services/slurm_provisioning_service.py``, ``get_runtime_scheduler_warnings``),
  plus one about tailscaled when it is not Running or the CLI is missing
  (``_check_tailscale_warning``);
- ``_get_tailscale_status``: ``{"connected": true, "hostname": Self.HostName,
  "dns_name": Self.DNSName without its trailing dot, "ips": Self.TailscaleIPs, "ip":
  the first}``, or ``{"connected": false, "error": ...}``;
- each of the two runs ``tailscale --socket=<tailscale_socket> status --json`` with a 5 s
  timeout. Starlette's JSONResponse serialises compactly (separators ``,`` and ``:``).
- Other paths answer 404 ``{"detail": "Not found"}`` (``frontend_spa_fallback``'s).

The extra warnings come from a JSON file re-read on every request, standing in for the
scheduler's state, so a test can raise one while HTTP stays 200 "ok".

    python3 relaymd_healthz.py --listen ADDR --port N --socket PATH --warnings FILE
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

VERSION = "0.2.21"
STATUS_TIMEOUT_SECONDS = 5
TAILNET_CONSEQUENCE = "Workers will be unable to reach the orchestrator via Tailscale."


def _tailscale_status(socket_path: str) -> tuple[int | None, bytes, bytes]:
    """Exit status (None on timeout), stdout, stderr of ``tailscale status --json``."""
    try:
        result = subprocess.run(
            ["tailscale", f"--socket={socket_path}", "status", "--json"],
            capture_output=True,
            timeout=STATUS_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, b"", b""
    return result.returncode, result.stdout, result.stderr


def tailscale_warning(socket_path: str) -> str | None:
    try:
        code, stdout, stderr = _tailscale_status(socket_path)
    except FileNotFoundError:
        return "tailscale binary not found; Tailscale connectivity cannot be verified."
    except OSError as error:
        return f"tailscaled is not responding at {socket_path}: {error}. {TAILNET_CONSEQUENCE}"
    if code is None:
        return f"tailscaled is not responding at {socket_path}. {TAILNET_CONSEQUENCE}"
    if code != 0 or not stdout.strip():
        detail = stderr.decode(errors="replace").strip() or "no output"
        return f"tailscaled is not running (socket: {socket_path}): {detail}. {TAILNET_CONSEQUENCE}"
    try:
        state = json.loads(stdout).get("BackendState", "")
    except ValueError:
        return (
            f"tailscale status returned unexpected output (socket: {socket_path}): {stdout[:200]!r}"
        )
    if state != "Running":
        return f"Tailscale is not connected (BackendState={state!r}). {TAILNET_CONSEQUENCE}"
    return None


def tailscale_status(socket_path: str) -> dict[str, Any]:
    try:
        code, stdout, _ = _tailscale_status(socket_path)
    except OSError as error:  # the binary missing included
        return {"connected": False, "error": str(error)}
    if code is None:
        return {"connected": False, "error": "tailscaled not responding"}
    if code != 0 or not stdout.strip():
        return {"connected": False, "error": "tailscaled not running"}
    try:
        data = json.loads(stdout)
    except ValueError:
        return {"connected": False, "error": "unexpected output"}
    if data.get("BackendState") != "Running":
        return {"connected": False, "error": f"BackendState={data.get('BackendState')!r}"}
    node = data.get("Self") or {}
    ips = node.get("TailscaleIPs") or []
    return {
        "connected": True,
        "hostname": node.get("HostName", ""),
        "dns_name": node.get("DNSName", "").rstrip("."),
        "ips": ips,
        "ip": ips[0] if ips else "",
    }


class _Handler(BaseHTTPRequestHandler):
    socket_path: str
    warnings_file: Path
    server_version = "uvicorn"
    sys_version = ""

    def _send(self, status: int, document: dict[str, Any]) -> None:
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/healthz":
            self._send(404, {"detail": "Not found"})
            return
        warnings = list(json.loads(self.warnings_file.read_text()))
        warning = tailscale_warning(self.socket_path)
        if warning is not None:
            warnings.append(warning)
        self._send(
            200,
            {
                "status": "ok",
                "version": VERSION,
                "warnings": warnings,
                "tailscale": tailscale_status(self.socket_path),
            },
        )

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read responses, not access logs."""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="127.0.0.1")  # RelayMD's default bind address
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--warnings", type=Path, required=True)
    arguments = parser.parse_args()
    _Handler.socket_path = arguments.socket
    _Handler.warnings_file = arguments.warnings
    _server(arguments.listen, arguments.port).serve_forever()


def _server(address: str, port: int) -> ThreadingHTTPServer:
    """Bound as uvicorn binds ``--host``: ``loop.create_server(host=..., port=...)``
    (uvicorn server.py, ``startup``), and asyncio sets IPV6_V6ONLY on an AF_INET6 socket
    (CPython 3.11 asyncio/base_events.py, ``create_server``; uvloop does the same), so
    "::" answers IPv6 only."""
    ipv6 = ":" in address

    class Server(ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ipv6 else socket.AF_INET

        def server_bind(self) -> None:
            if ipv6:
                self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            super().server_bind()

    return Server((address, port), _Handler)


if __name__ == "__main__":
    main()
