"""The probe a checked host runs: verdicts over loopback, and the DNS query it sends."""

from __future__ import annotations

import socket
import struct
import threading

from tests.infra import probe


def test_open_and_refused_over_loopback() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert probe.run(f"tcp:127.0.0.1:{port}", 2.0) == "open"
    assert probe.run(f"tcp:127.0.0.1:{port}", 2.0) == "refused"


def test_dns_probe_reads_the_rcode_of_the_matching_answer() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]

        def answer() -> None:
            query, client = server.recvfrom(512)
            header = struct.pack(">HHHHHH", struct.unpack(">H", query[:2])[0], 0x8183, 1, 0, 0, 0)
            server.sendto(header + query[12:], client)

        thread = threading.Thread(target=answer)
        thread.start()
        assert probe.dns("127.0.0.1", "internal", 2.0, port=port) == "rcode:3"
        thread.join()


def test_dns_query_asks_one_a_record() -> None:
    query = probe.dns_query("gateway.internal")
    assert struct.unpack(">HHHHHH", query[:12])[2] == 1
    assert query[12:] == b"\x07gateway\x08internal\x00\x00\x01\x00\x01"
