"""Network probes a checked host runs on itself (sent as ``python3 -c``; stdlib only).

    python3 -c "$(cat probe.py)" TIMEOUT PROBE [PROBE ...]

Each PROBE is ``tcp:ADDRESS:PORT`` or ``dns:ADDRESS:NAME`` (a UDP DNS query for NAME's A
record). All run at once; one JSON object maps each probe to its verdict:
- tcp: ``open`` (handshake completed), ``refused`` (a RST came back: the packet got
  through and nothing listens), ``filtered`` (no answer before TIMEOUT: a silent drop,
  which is what Tailscale's filter and NixOS's firewall do), ``unreachable`` (no route,
  or an ICMP unreachable from a router: the packet never reached the host);
- dns: ``rcode:<n>`` for an answer (0 NOERROR, 3 NXDOMAIN, 5 REFUSED, ...), or ``filtered``.
"""

from __future__ import annotations

import errno
import json
import socket
import struct
import sys
import threading

QUERY_ID = 0x5EED
UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH}


def tcp(address: str, port: int, timeout: float) -> str:
    try:
        with socket.create_connection((address, port), timeout=timeout):
            return "open"
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "filtered"
    except OSError as error:
        if error.errno in UNREACHABLE:
            return "unreachable"
        return f"error:{error.strerror or error}"


def dns_query(name: str) -> bytes:
    header = struct.pack(">HHHHHH", QUERY_ID, 0x0100, 1, 0, 0, 0)
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split(".") if part)
    return header + labels + b"\x00" + struct.pack(">HH", 1, 1)


def dns(address: str, name: str, timeout: float, port: int = 53) -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(dns_query(name), (address, port))
            while True:
                reply, _ = sock.recvfrom(4096)
                if len(reply) >= 4 and struct.unpack(">H", reply[:2])[0] == QUERY_ID:
                    return f"rcode:{reply[3] & 0x0F}"
        except TimeoutError:
            return "filtered"
        except OSError as error:
            return f"error:{error.strerror or error}"


def run(probe: str, timeout: float) -> str:
    kind, address, argument = probe.split(":", 2)
    if kind == "tcp":
        return tcp(address, int(argument), timeout)
    if kind == "dns":
        return dns(address, argument, timeout)
    return f"error:unknown probe {kind}"


def main(argv: list[str]) -> None:
    timeout = float(argv[0])
    verdicts: dict[str, str] = {}

    def one(probe: str) -> None:
        verdicts[probe] = run(probe, timeout)

    threads = [threading.Thread(target=one, args=(probe,)) for probe in argv[1:]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(verdicts, sort_keys=True))


if __name__ == "__main__":
    main(sys.argv[1:])
