"""A process that accepts TCP connections on the given ports and closes them.

Stands in for services whose protocol no check speaks (the Infisical Relay's 8443 and
2222, RelayMD's loopback dashboard proxy on 36159): checks only see that the port
accepts or that nothing listens.

    python3 listener.py ADDRESS PORT [PORT ...]     (ADDRESS "::" listens on both families)
"""

from __future__ import annotations

import socket
import sys
import threading


def _serve(address: str, port: int) -> None:
    if ":" in address:  # "::" answers IPv4 too (dual stack), as a wildcard IPv6 bind does
        server = socket.create_server((address, port), family=socket.AF_INET6, dualstack_ipv6=True)
    else:
        server = socket.create_server((address, port))
    while True:
        connection, _ = server.accept()
        connection.close()


def main(argv: list[str]) -> None:
    address, ports = argv[0], [int(port) for port in argv[1:]]
    threads = [threading.Thread(target=_serve, args=(address, port)) for port in ports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main(sys.argv[1:])
