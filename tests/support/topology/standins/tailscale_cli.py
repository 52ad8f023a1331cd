"""Stand-in ``tailscale`` CLI (installed as ``tailscale``): ``[--socket=PATH] status --json``.

Upstream (tailscale v1.84.3): the global ``--socket`` flag defaults to
``/var/run/tailscale/tailscaled.sock`` on Linux (paths/paths.go); ``status --json``
prints ``json.MarshalIndent(status, "", "  ")`` with no trailing newline
(cmd/tailscale/cli/status.go); when nothing answers on the socket it fails with
"failed to connect to local tailscaled; it doesn't appear to be running" on stderr and
exit status 1 (cmd/tailscale/cli/diag.go, cmd/tailscale/tailscale.go).
"""

from __future__ import annotations

import http.client
import json
import socket
import sys

DEFAULT_SOCKET = "/var/run/tailscale/tailscaled.sock"
STATUS_PATH = "/localapi/v0/status"
NOT_RUNNING = "failed to connect to local tailscaled; it doesn't appear to be running"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("local-tailscaled.sock", timeout=10)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


def main(argv: list[str]) -> int:
    path = DEFAULT_SOCKET
    rest: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        if argument.startswith("--socket="):
            path = argument.split("=", 1)[1]
        elif argument in ("--socket", "-socket"):
            path = next(arguments, DEFAULT_SOCKET)
        else:
            rest.append(argument)
    if rest[:1] != ["status"] or not {"--json", "-json"} & set(rest[1:]):
        print(f"stand-in tailscale: only `status --json` is provided, got {rest}", file=sys.stderr)
        return 2
    connection = _UnixConnection(path)
    try:
        query = "" if "--peers=false" not in rest else "?peers=false"
        connection.request("GET", STATUS_PATH + query)
        response = connection.getresponse()
        body = response.read()
    except OSError:
        print(NOT_RUNNING, file=sys.stderr)
        return 1
    if response.status != 200:
        print(body.decode(errors="replace").strip(), file=sys.stderr)
        return 1
    sys.stdout.write(json.dumps(json.loads(body), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
