"""Stand-in ``tailscale`` CLI (installed as ``tailscale``): ``status --json`` and ``ping``.

Upstream (tailscale v1.98.5, what nixos-26.05 ships at the pin, nixos/nixpkgs-pin.json):
- the global ``--socket`` flag defaults to ``/var/run/tailscale/tailscaled.sock`` on Linux
  (paths/paths.go); when nothing answers there every command fails with "failed to connect to
  local tailscaled; it doesn't appear to be running" on stderr and exit status 1
  (cmd/tailscale/cli/diag.go, cmd/tailscale/tailscale.go: errors go to stderr, exit 1);
- ``status --json`` prints ``json.MarshalIndent(status, "", "  ")`` (cmd/tailscale/cli/status.go);
- ``ping [--tsmp|--icmp] [-c N] [--timeout D] <ip>`` (cmd/tailscale/cli/ping.go ``runPing``):
  a node that is not Running prints its state (``isRunningOrStarting``) and exits 1; each try
  waits ``--timeout`` (default 5s) and prints ``ping "<ip>" timed out``; after ``-c`` tries
  (default 10) without a pong it fails with "no reply"; a pong prints
  ``pong from <name> (<ip>) via <TSMP|ICMP> in <latency>`` and, for TSMP and ICMP, ends the
  command; an error from tailscaled ("no matching peer") ends it with that error.
"""

from __future__ import annotations

import json
import re
import socket
import sys
from typing import Any
from urllib.parse import urlencode

DEFAULT_SOCKET = "/var/run/tailscale/tailscaled.sock"
STATUS_PATH = "/localapi/v0/status"
PING_PATH = "/localapi/v0/ping"
NOT_RUNNING = "failed to connect to local tailscaled; it doesn't appear to be running"
STATES = {
    "Stopped": "Tailscale is stopped.",
    "NeedsLogin": "Logged out.",
    "NeedsMachineAuth": "Machine is not yet approved by tailnet admin.",
}
_DURATION = re.compile(r"(?P<number>[0-9]+(\.[0-9]+)?)(?P<unit>ms|s|m)")


class CommandError(Exception):
    pass


def _request(path: str, method: str, url: str, timeout: float = 10.0) -> Any:
    """One LocalAPI request over the unix socket, in plain HTTP/1.0 (http.client alone would
    take longer to import than the request takes)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except OSError:
            raise CommandError(NOT_RUNNING) from None
        sock.sendall(f"{method} {url} HTTP/1.0\r\nHost: local-tailscaled.sock\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):  # TimeoutError propagates: the caller reports it
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].split()
    if len(status_line) < 2 or status_line[1] != b"200":
        raise CommandError(body.decode(errors="replace").strip() or NOT_RUNNING)
    return json.loads(body)


def _seconds(text: str) -> float:
    """A Go duration as the flag takes it: ``5s``, ``1.5s``, ``500ms``, ``1m``."""
    found = _DURATION.fullmatch(text)
    if not found:
        raise CommandError(f'invalid value "{text}" for flag -timeout: parse error')
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0}[found["unit"]]
    return float(found["number"]) * scale


def _latency(seconds: float) -> str:
    """Go's Duration.String of a latency rounded to the millisecond."""
    milliseconds = round(seconds * 1000)
    if milliseconds == 0:
        return "0s"
    if milliseconds < 1000:
        return f"{milliseconds}ms"
    return f"{milliseconds / 1000:g}s"


def status(path: str, arguments: list[str]) -> int:
    if not {"--json", "-json"} & set(arguments):
        raise CommandError("stand-in tailscale: only `status --json` is provided")
    document = _request(path, "GET", STATUS_PATH)
    sys.stdout.write(json.dumps(document, indent=2))
    return 0


def ping(path: str, arguments: list[str]) -> int:
    kind, count, timeout, rest = "disco", 10, 5.0, []
    words = iter(arguments)
    for word in words:
        name, _, value = word.lstrip("-").partition("=")
        if word.startswith("-") and name in ("tsmp", "icmp", "peerapi"):
            kind = {"tsmp": "TSMP", "icmp": "ICMP", "peerapi": "peerapi"}[name]
        elif word.startswith("-") and name == "c":
            count = int(value or next(words, "10"))
        elif word.startswith("-") and name == "timeout":
            timeout = _seconds(value or next(words, "5s"))
        elif word.startswith("-") and name in ("until-direct", "verbose", "size"):
            if not value and name == "size":
                next(words, None)
        else:
            rest.append(word)
    state = _request(path, "GET", STATUS_PATH)
    backend = state.get("BackendState")
    if backend not in ("Running", "Starting"):
        print(STATES.get(backend, f"unexpected state: {backend}"))
        return 1
    if len(rest) != 1 or not rest[0]:
        raise CommandError("usage: tailscale ping <hostname-or-IP>")
    address = rest[0]
    query = urlencode({"ip": address, "size": 0, "type": kind})
    for attempt in range(1, count + 1):
        try:
            result = _request(path, "POST", f"{PING_PATH}?{query}", timeout)
        except TimeoutError:
            print(f'ping "{address}" timed out')
            if attempt == count:
                raise CommandError("no reply") from None
            continue
        if result.get("Err"):
            if result.get("IsLocalIP"):
                print(result["Err"])
                return 0
            raise CommandError(result["Err"])
        via = result.get("Endpoint") or kind
        latency = _latency(float(result.get("LatencySeconds", 0)))
        print(f"pong from {result['NodeName']} ({result['NodeIP']}) via {via} in {latency}")
        if kind in ("TSMP", "ICMP"):
            return 0
    raise CommandError("no reply")


def main(argv: list[str]) -> int:
    path = DEFAULT_SOCKET
    rest: list[str] = []
    arguments = iter(argv)
    for argument in arguments:
        if argument.startswith(("--socket=", "-socket=")):
            path = argument.split("=", 1)[1]
        elif argument in ("--socket", "-socket"):
            path = next(arguments, DEFAULT_SOCKET)
        else:
            rest.append(argument)
    commands = {"status": status, "ping": ping}
    if not rest or rest[0] not in commands:
        print(f"stand-in tailscale: only `status --json` and `ping`, got {rest}", file=sys.stderr)
        return 2
    try:
        return commands[rest[0]](path, rest[1:])
    except CommandError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
