"""Every check can fail: break one property of the namespaced topology at a time and expect the
matching check to fail with its specific message, then pass again once the fault is undone (so
the failure is the fault's, not the topology's). The faults a green run used to hide turn the
whole ``scripts/verify`` run red, with the line a tester reads."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

from infra.cli import app as cli
from infra.verify.inventory import Inventory
from tests.infra.engine import Engine, Outcome, Verdict
from tests.infra.plan import plan, run
from tests.infra.remote import Connector
from tests.support.topology import netns
from tests.support.topology.faults import broken
from tests.support.topology.topology import Topology

pytestmark = [pytest.mark.netns]

QUICK_BUDGET = 2.0
"""Failing checks retry for their whole budget: keep it short here."""
ORCH, R, W1, W2 = "relaymd-orchestrator", "relaymd-relay", "relaymd-worker-1", "relaymd-worker-2"


def _quick(inventory: Inventory) -> Inventory:
    return replace(inventory, budget_seconds=QUICK_BUDGET)


@pytest.fixture(scope="module")
def connector(topology: Topology) -> Iterator[Connector]:
    """SSH master connections kept across the cases (each case gets a fresh engine)."""
    assert topology.inventory is not None
    with tempfile.TemporaryDirectory(prefix="relaymd-harness-") as private:
        kept = Connector(Path(private), topology.inventory.ssh_config)
        try:
            yield kept
        finally:
            kept.close()


def judged(connector: Connector, inventory: Inventory, ids: Sequence[str]) -> dict[str, Outcome]:
    """The verdicts of ``ids`` only, from a fresh engine (as a run selecting them gives)."""
    engine = Engine(inventory, connector)
    try:
        run(engine, ids)
        return {check_id: engine.outcome(check_id) for check_id in ids}
    finally:
        engine.close()


CASES: list[tuple[str, str, str]] = [
    ("healthz-down", f"{W1}-healthz", r"GET http://relaymd-orchestrator\..*/healthz failed"),
    ("healthz-down", f"{ORCH}-relaymd-unit", r"unit podman-relaymd-orchestrator is 'inactive'"),
    ("api-ipv6-only", f"{W1}-healthz", r"GET http://relaymd-orchestrator\..*/healthz failed"),
    ("ipv6-forward-down", f"{W1}-healthz-ipv6", r"GET http://\[fd7a:115c:a1e0::.*\]:36158/healthz"),
    ("healthz-warning", f"{W1}-healthz", r"warnings present: .*all SLURM clusters are disabled"),
    ("tailscale-disconnected", f"{ORCH}-tailscaled", r"BackendState is 'NeedsLogin'"),
    (
        "tailscale-disconnected",
        f"{W1}-to-{ORCH}-alive",
        r"control reports relaymd-orchestrator off",
    ),
    ("wrong-hostname", f"{W1}-magicdns", r"relaymd-orchestrator\..* does not resolve"),
    ("wrong-hostname", f"{W1}-healthz-ipv6", r"dns_name is 'relaymd-orchestrator-1\..*', expected"),
    ("stale-name", f"{W1}-magicdns", r"resolves to 100\.101\.0\.250, not the orchestrator's"),
    ("tailscaled-ephemeral", f"{ORCH}-not-ephemeral", r"runs with --state=mem:"),
    ("orchestrator-untagged", f"{ORCH}-tailscaled", r"carries no tag, expected tag:relaymd-orch"),
    ("relay-tag-lost", f"{R}-tailscaled", r"carries tag:relaymd-worker, expected tag:relaymd-rel"),
    ("relay-tailscaled-stopped", f"{R}-tailscaled", r"unit tailscaled is 'inactive'"),
    (
        "worker-to-worker",
        f"{W1}-to-{W2}-no-path",
        r"relaymd-worker-2 answers relaymd-worker-1, though the rendered policy opens no path "
        r"between them: 22/tcp at 100\.101\.0\.4 open.*ICMP echo at 100\.101\.0\.4 pong",
    ),
    (
        "worker-to-orchestrator-ssh",
        f"{W1}-to-{ORCH}-22-tcp",
        r"22/tcp on relaymd-orch.* not blocked",
    ),
    (
        "worker-to-relay-ssh",
        f"{W1}-to-{R}-no-path",
        r"relaymd-relay answers relaymd-worker-1, though the rendered policy opens no path "
        r"between them: 22/tcp at 100\.101\.0\.2 open",
    ),
    (
        "worker-to-relay-dns",
        f"{W1}-to-{R}-no-path",
        r"relaymd-relay answers relaymd-worker-1, .*53/udp at 100\.101\.0\.2 rcode \d",
    ),
    ("api-on-lan", "lan-probe-api-closed", r"port 36158 accepts connections on the LAN"),
    (
        "dnsmasq-stopped",
        f"{R}-dnsmasq",
        r"dnsmasq does not answer internal on .*(refused|filtered)",
    ),
    ("infisical-port-open", f"{R}-infisical-relay", r"ports \[8443\] listen, but the Infisical"),
    ("infisical-relay-expected", f"{R}-infisical-relay", r"unit infisical-relay is 'inactive'"),
]


@pytest.mark.parametrize(
    ("fault", "check_id", "message"), CASES, ids=[f"{f}:{c}" for f, c, _ in CASES]
)
def test_check_fails_on_fault(
    topology: Topology, connector: Connector, fault: str, check_id: str, message: str
) -> None:
    with broken(topology, fault) as faulty:
        outcome = judged(connector, _quick(faulty), [check_id])[check_id]
    assert outcome.verdict is Verdict.FAIL, outcome
    assert re.search(message, outcome.text), outcome.text
    assert topology.inventory is not None
    healed = judged(connector, topology.inventory, [check_id])[check_id]
    assert healed.verdict is Verdict.PASS, healed  # the failure was the fault's


def test_enabled_infisical_relay_passes_only_with_unit_and_ports(
    topology: Topology, connector: Connector
) -> None:
    with broken(topology, "infisical-relay-expected") as expecting:
        topology.start_infisical_relay()
        try:
            check = f"{R}-infisical-relay"
            assert judged(connector, _quick(expecting), [check])[check].verdict is Verdict.PASS
        finally:
            topology.stop_infisical_relay()


# The run a tester makes: each fault a green run used to hide now turns it red, with this
# line; the checks that failed pass again once the fault is undone.
RUN_CASES: list[tuple[str, list[str], str]] = [  # (fault, extra arguments, the red line)
    (
        "no-worker",
        [],
        r"SKIP\s+worker: MagicDNS: the inventory names no worker-tagged test node.*"
        r"\[--allow-skip no-worker\]",
    ),
    (
        "dead-peer",
        [],
        r"FAIL\s+relaymd-orchestrator → relaymd-worker-2: live path: relaymd-worker-2 "
        r"\(100\.101\.0\.4, fd7a.*\) does not answer a TSMP ping from relaymd-orchestrator",
    ),
    (
        "magicdns-down",
        [],
        r"FAIL\s+relaymd-worker-1: MagicDNS: MagicDNS: relaymd-orchestrator\.\S+ does not resolve",
    ),
    (
        "unlisted-port",
        [],
        r"FAIL\s+relaymd-worker-1 → relaymd-orchestrator: only ports the policy opens answer: "
        r".*8080/tcp at 100\.101\.0\.1 open",
    ),
    (
        "orchestrator-to-worker",
        [],
        r"FAIL\s+relaymd-orchestrator → relaymd-worker-2: 22/tcp blocked: 22/tcp on "
        r"relaymd-worker-2 is not blocked from relaymd-orchestrator: 100\.101\.0\.4 open",
    ),
    (
        "ipv6-only-hole",
        [],
        r"FAIL\s+relaymd-worker-1 → relaymd-orchestrator: 22/tcp blocked: 22/tcp on "
        r"relaymd-orchestrator is not blocked from relaymd-worker-1: fd7a:\S+ open$",
    ),
    (
        "lan-probe-off-lan",
        [],
        r"FAIL\s+LAN probe → relaymd-orchestrator: its own path \(SSH port\): the LAN probe "
        r".* cannot reach 10\.100\.10\.\d+:22 \(unreachable\): it is not on the orchestrator's LAN",
    ),
    (
        "untagged-prober",
        [],
        r"FAIL\s+relaymd-worker-1: tailscaled: relaymd-worker-1 carries no tag, expected "
        r"tag:relaymd-worker",
    ),
]


def _verify(inventory: Inventory, directory: Path, *extra: str) -> int:
    path = directory / "inventory.json"
    path.write_text(inventory.to_json())
    arguments = ["--stack", "example", "--inventory", str(path), "--build", str(directory)]
    return cli.main(["verify", *arguments, "--junit", str(directory / "junit.xml"), *extra])


def _red_ids(junit: Path) -> list[str]:
    """The checks the last run did not pass, from its JUnit report."""
    root = ElementTree.parse(junit).getroot()  # noqa: S314 - the run's own report
    return [
        name.removeprefix("test_check[").removesuffix("]")
        for case in root.iter("testcase")
        if any(child.tag in ("failure", "skipped") for child in case)
        and (name := case.get("name", "")).startswith("test_check[")
    ]


@pytest.mark.parametrize(("fault", "extra", "line"), RUN_CASES, ids=[c[0] for c in RUN_CASES])
def test_fault_turns_the_run_red_then_green(
    topology: Topology,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fault: str,
    extra: list[str],
    line: str,
) -> None:
    with broken(topology, fault) as faulty:
        assert _verify(_quick(faulty), tmp_path, *extra) == 1
    red = capsys.readouterr().out
    assert re.search(line, red, re.MULTILINE), red
    assert "verdict: green" not in red
    assert topology.inventory is not None
    # Green again once the fault is undone: the checks that were red now pass (all of them
    # when the fault changed which checks there are, as a missing worker does).
    known = {check.id for check in plan(topology.inventory)}
    red_ids = _red_ids(tmp_path / "junit.xml")
    selected = ["--", "-k", " or ".join(red_ids)] if set(red_ids) <= known else []
    assert _verify(topology.inventory, tmp_path, *selected) == 0, capsys.readouterr().out


def test_an_unreachable_host_is_its_own_line_and_exit_3(
    topology: Topology, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A host SSH cannot reach gets one line, once; what rests on it is not judged."""
    assert topology.inventory is not None
    relay = topology.inventory.relays[0]
    gone = replace(relay, host="ssh://root@127.0.0.1:1")  # loopback, where nothing listens
    inventory = replace(_quick(topology.inventory), relays=(gone,))
    assert _verify(inventory, tmp_path, "--", "-k", "relaymd-relay") == 3
    out = capsys.readouterr().out
    assert re.search(r"FAIL\s+relaymd-relay reachable: unreachable over SSH: .*refused", out), out
    assert "CommandResult" not in out and "CheckFailedError" not in out
    assert out.count("refused") == 1
    assert re.search(r"NOT JUDGED\s+relaymd-relay: dnsmasq", out), out


def test_harness_leaves_nothing_behind(tmp_path: Any) -> None:
    """A topology that is built and closed leaves no namespace, process or directory."""
    from tests.support.golden import whole_render
    from tests.support.topology.fixtures import skip_reason
    from tests.support.topology.netns import Namespaces

    if skip_reason():
        pytest.skip(skip_reason() or "")
    built = Topology(whole_render(tmp_path / "example"), workers=1)
    built.build()
    names = list(built.namespaces.names)
    processes = list(built.namespaces.processes)
    built.close()
    listed = Namespaces.listed()
    assert not set(names) & set(listed)
    assert all(process.poll() is not None for process in processes)
    assert not built.directory.exists()
    assert re.fullmatch(r"rmd\d+x\d+", built.prefix)


def test_namespaces_of_a_killed_run_are_reaped() -> None:
    from tests.support.topology.fixtures import skip_reason
    from tests.support.topology.netns import Namespaces, ip, reap_stale

    if skip_reason():
        pytest.skip(skip_reason() or "")
    dead = subprocess.Popen(["true"])
    dead.wait()
    name = f"rmd{dead.pid}x0-orch"
    ip("netns", "add", name)
    assert name in reap_stale()
    assert name not in Namespaces.listed()


OWNER = """
import sys, tempfile, time
from pathlib import Path
from tests.support.topology.guardian import guard
from tests.support.topology.netns import Namespaces, run_prefix
prefix = run_prefix()
directory = Path(tempfile.mkdtemp(prefix="relaymd-topology-"))
namespaces = Namespaces(prefix)
name = namespaces.add("orch")
namespaces.start(name, ["sleep", "300"], directory / "sleep.log")
guard(prefix, directory)
print(name, directory, namespaces.processes[0].pid, flush=True)
time.sleep(300)
"""


def test_a_run_killed_outright_is_cleaned_by_its_guardian() -> None:
    """SIGKILL runs no finalizer and no atexit: the guardian removes what the run made."""
    from tests.support.topology.fixtures import skip_reason
    from tests.support.topology.netns import Namespaces, wait_until

    if skip_reason():
        pytest.skip(skip_reason() or "")
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert owner.stdout is not None
    name, directory, pid = owner.stdout.readline().split()
    assert name in Namespaces.listed()
    owner.kill()
    owner.wait()
    wait_until(lambda: name not in Namespaces.listed(), "the guardian's cleanup")
    wait_until(lambda: not Path(directory).exists(), "the scratch directory's removal")
    wait_until(lambda: not Path(f"/proc/{pid}").exists(), "the namespace's process ending")


def test_a_node_cannot_speak_for_an_address_it_does_not_own(topology: Topology) -> None:
    """The tailnet is WireGuard, not a shared segment: a packet a node sends from another
    node's tailnet address is dropped by the receiver's cryptokey routing (the address is not
    among the sender's allowed IPs), though the policy would admit that address."""
    worker, impostor = topology.workers()
    orchestrator = topology.orchestrator()
    target = (str(orchestrator.tailnet_ip), topology.api_port())

    def connect_from(source: str) -> bool:
        def attempt() -> bool:
            try:
                with socket.create_connection(target, timeout=2, source_address=(source, 0)):
                    return True
            except OSError:
                return False

        return netns.in_namespace(worker.namespace, attempt)

    assert connect_from(str(worker.tailnet_ip))
    netns.ip("-n", worker.namespace, "addr", "add", f"{impostor.tailnet_ip}/32", "dev", "lo")
    try:
        assert not connect_from(str(impostor.tailnet_ip))
    finally:
        netns.ip("-n", worker.namespace, "addr", "del", f"{impostor.tailnet_ip}/32", "dev", "lo")
