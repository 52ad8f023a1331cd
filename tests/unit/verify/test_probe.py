"""The probes a checked host runs (probe.sh, in bash): verdicts over loopback, the DNS query it
sends, and reading its output with bounds."""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import threading

import pytest

from tests.infra import probes
from tests.infra.probes import ProbeOutputError, Result, Spec


def run(*specs: Spec, environment: dict[str, str] | None = None) -> dict[Spec, Result]:
    command = probes.command(specs, 2.0, 2.0, None)
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        env={**os.environ, **(environment or {})},
        check=True,
        timeout=30,
    )
    return probes.parse(result.stdout, specs)


def test_open_and_refused_over_loopback_both_families() -> None:
    with socket.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True) as server:
        port = str(server.getsockname()[1])
        opened = run(Spec("tcp", "127.0.0.1", port), Spec("tcp", "::1", port))
        assert {result.verdict for result in opened.values()} == {"open"}
    refused = run(Spec("tcp", "127.0.0.1", port), Spec("tcp", "::1", port))
    assert {result.verdict for result in refused.values()} == {"refused"}


def test_dns_sends_one_a_query_and_reads_the_rcode_of_its_answer() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as server:
        server.bind(("127.0.0.1", 0))
        port = server.getsockname()[1]
        seen: list[bytes] = []

        def answer() -> None:
            query, client = server.recvfrom(512)
            seen.append(query)
            header = struct.pack(">HHHHHH", struct.unpack(">H", query[:2])[0], 0x8183, 1, 0, 0, 0)
            server.sendto(header + query[12:], client)

        thread = threading.Thread(target=answer)
        thread.start()
        spec = Spec("dns", "127.0.0.1", "gateway.internal")
        result = run(spec, environment={"RELAYMD_PROBE_DNS_PORT": str(port)})[spec]
        thread.join()
    assert (result.verdict, result.value) == ("rcode", "3")
    (query,) = seen
    assert struct.unpack(">HHHHHH", query[:12])[2] == 1  # one question
    assert query[12:] == b"\x07gateway\x08internal\x00\x00\x01\x00\x01"


def test_dns_to_a_closed_port_is_refused() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
    spec = Spec("dns", "127.0.0.1", "internal")
    assert run(spec, environment={"RELAYMD_PROBE_DNS_PORT": str(port)})[spec].verdict == "refused"


def test_resolve_reads_getent() -> None:
    spec = Spec("resolve", "localhost")
    result = run(spec)[spec]
    assert result.verdict == "found" and "127.0.0.1" in result.detail.split()


@pytest.mark.parametrize(
    ("output", "says"),
    [
        ("0\topen\n", "no verdict for 1 probe"),
        ("0\topen\n1\topen\n7\topen\n", "printed '7\\topen'"),
        ("0\tmaybe\n1\topen\n", "printed '0\\tmaybe'"),
        ("0\terror\t!!notbase64\n1\topen\n", "not base64"),
        ("0\terror\t" + "A" * 200_000 + "\n1\topen\n", "longer than"),
    ],
)
def test_output_it_never_prints_is_refused(output: str, says: str) -> None:
    specs = [Spec("tcp", "127.0.0.1", "1"), Spec("tcp", "127.0.0.1", "2")]
    with pytest.raises(ProbeOutputError) as raised:
        probes.parse(output, specs)
    assert says in str(raised.value)


def test_an_error_reads_as_a_plain_sentence() -> None:
    specs = [Spec("http", "http://127.0.0.1:1/healthz", "4")]
    (result,) = probes.parse("0\terror\tY3VybDogKDcpIHJlZnVzZWQ=\n", specs).values()
    assert str(result) == "error (curl: (7) refused)"
