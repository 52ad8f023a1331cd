"""Every check can fail: break one property of the namespaced topology at a time and
expect the matching check to fail with its specific message, then pass again once the
fault is undone (so the failure is the fault's, not the topology's)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import testinfra

from infra.cli import app as cli
from infra.verify.inventory import Inventory
from tests.infra import checks
from tests.support.topology.faults import broken
from tests.support.topology.topology import Topology

pytestmark = [pytest.mark.netns, pytest.mark.xdist_group("topology")]

QUICK_BUDGET = 1.0
"""Failing checks retry for their whole budget: keep it short here."""


def _quick(inventory: Inventory) -> Inventory:
    return replace(inventory, budget_seconds=QUICK_BUDGET)


def _host(inventory: Inventory, spec: str) -> Any:
    return testinfra.get_host(spec, ssh_config=inventory.ssh_config)


def _orchestrator_ip(inventory: Inventory) -> str:
    return checks.tailnet_ip(_host(inventory, inventory.orchestrator.host), inventory.orchestrator)


def _healthz(inventory: Inventory) -> str:
    worker = _host(inventory, inventory.workers[0].host)
    ip = _orchestrator_ip(inventory)
    return checks.check_healthz(worker, inventory, ip, checks.check_magicdns(worker, inventory, ip))


def _filtered(inventory: Inventory, tag: str, port: int, proto: str = "tcp") -> None:
    worker = _host(inventory, inventory.workers[0].host)
    targets = {
        node.hostname: checks.tailnet_ip(_host(inventory, node.host), node)
        for node in inventory.nodes()
        if node.tag == tag and node != inventory.workers[0]
    }
    denied = next(
        probe
        for probe in inventory.denied_from_workers
        if (probe.tag, probe.port, probe.proto) == (tag, port, proto)
    )
    checks.check_filtered(worker, inventory, targets, denied)


def _worker_to_worker(inventory: Inventory) -> None:
    _filtered(inventory, inventory.workers[0].tag, 22)


def _orchestrator_ssh(inventory: Inventory) -> None:
    _filtered(inventory, inventory.orchestrator.tag, 22)


def _relay_ssh(inventory: Inventory) -> None:
    _filtered(inventory, inventory.relays[0].tag, 22)


def _relay_dns_from_worker(inventory: Inventory) -> None:
    _filtered(inventory, inventory.relays[0].tag, 53, "udp")


def _relay_tailscaled(inventory: Inventory) -> None:
    relay = inventory.relays[0]
    checks.check_tailscaled(_host(inventory, relay.host), relay, inventory.budget_seconds)


def _api_closed_on_lan(inventory: Inventory) -> None:
    checks.check_api_closed_on_lan(_host(inventory, inventory.lan_probe), inventory)


def _relay_dns(inventory: Inventory) -> None:
    relay = inventory.relays[0]
    host = _host(inventory, relay.host)
    checks.check_dnsmasq_answers(host, relay, checks.tailnet_ip(host, relay), inventory)


def _infisical_relay(inventory: Inventory) -> None:
    relay = inventory.relays[0]
    checks.check_infisical_relay(_host(inventory, relay.host), relay, inventory)


def _orchestrator_tailscaled(inventory: Inventory) -> None:
    host = _host(inventory, inventory.orchestrator.host)
    checks.check_tailscaled(host, inventory.orchestrator, inventory.budget_seconds)


def _not_ephemeral(inventory: Inventory) -> None:
    checks.check_not_ephemeral(_host(inventory, inventory.orchestrator.host), inventory)


def _healthz_ipv6(inventory: Inventory) -> str:
    worker = _host(inventory, inventory.workers[0].host)
    node = inventory.orchestrator
    address = checks.tailnet_ipv6(_host(inventory, node.host), node)
    assert address is not None, "the topology gives every node a tailnet IPv6 address"
    return checks.check_healthz_ipv6(worker, inventory, address)


def _relaymd_unit(inventory: Inventory) -> None:
    node = inventory.orchestrator
    checks.unit_active(_host(inventory, node.host), node.hostname, node.unit)


CASES: list[tuple[str, Callable[[Inventory], object], str]] = [
    ("healthz-down", _healthz, r"GET http://relaymd-orchestrator\..*/healthz failed"),
    ("healthz-down", _relaymd_unit, r"unit podman-relaymd-orchestrator is 'inactive'"),
    ("api-ipv6-only", _healthz, r"GET http://relaymd-orchestrator\..*/healthz failed"),
    ("ipv6-forward-down", _healthz_ipv6, r"GET http://\[fd7a:115c:a1e0::.*\]:36158/healthz failed"),
    ("healthz-warning", _healthz, r"warnings present: .*all SLURM clusters are disabled"),
    ("tailscale-disconnected", _healthz, r"tailscale not connected: BackendState='NeedsLogin'"),
    ("tailscale-disconnected", _orchestrator_tailscaled, r"BackendState is 'NeedsLogin'"),
    ("wrong-hostname", _healthz, r"dns_name is 'relaymd-orchestrator-1\..*', expected"),
    ("tailscaled-ephemeral", _not_ephemeral, r"runs with --state=mem:"),
    ("orchestrator-untagged", _orchestrator_tailscaled, r"node tags are \[\], expected"),
    ("relay-tag-lost", _relay_tailscaled, r"tags are \['tag:relaymd-worker'\], expected"),
    ("relay-tailscaled-stopped", _relay_tailscaled, r"unit tailscaled is 'inactive'"),
    ("worker-to-worker", _worker_to_worker, r"tag:relaymd-worker:22/tcp is not filtered.*open"),
    ("worker-to-orchestrator-ssh", _orchestrator_ssh, r"orchestrator:22/tcp is not filtered.*open"),
    ("worker-to-relay-ssh", _relay_ssh, r"tag:relaymd-relay:22/tcp is not filtered.*open"),
    ("worker-to-relay-dns", _relay_dns_from_worker, r"relay:53/udp is not filtered.*rcode:\d"),
    ("api-on-lan", _api_closed_on_lan, r"port 36158 accepts connections on the LAN"),
    ("dnsmasq-stopped", _relay_dns, r"dnsmasq does not answer internal .*: filtered"),
    ("infisical-port-open", _infisical_relay, r"ports \[8443\] listen, but the Infisical Relay"),
    ("infisical-relay-expected", _infisical_relay, r"unit infisical-relay is 'inactive'"),
]


@pytest.mark.parametrize(
    ("fault", "check", "message"), CASES, ids=[f"{f}-{c.__name__[1:]}" for f, c, _ in CASES]
)
def test_check_fails_on_fault(
    topology: Topology, fault: str, check: Callable[[Inventory], object], message: str
) -> None:
    with broken(topology, fault) as faulty, pytest.raises(checks.CheckFailedError, match=message):
        check(_quick(faulty))
    assert topology.inventory is not None
    check(topology.inventory)  # healthy again: the failure was the fault's


def test_enabled_infisical_relay_passes_only_with_unit_and_ports(topology: Topology) -> None:
    with broken(topology, "infisical-relay-expected") as expecting:
        topology.start_infisical_relay()
        try:
            _infisical_relay(_quick(expecting))
        finally:
            topology.stop_infisical_relay()


def test_magicdns_resolves_and_a_stale_name_fails(topology: Topology) -> None:
    inventory = topology.inventory
    assert inventory is not None
    worker = _host(inventory, inventory.workers[0].host)
    ip = _orchestrator_ip(inventory)
    assert checks.check_magicdns(worker, inventory, ip) == "magicdns"
    stale = r"resolves to 100\.101\.0\.250, not"
    with (
        broken(topology, "stale-name") as faulty,
        pytest.raises(checks.CheckFailedError, match=stale),
    ):
        checks.check_magicdns(worker, _quick(faulty), ip)


def test_without_magicdns_the_checks_fall_back_to_the_tailnet_ip(topology: Topology) -> None:
    """The second worker has no MagicDNS (as a userspace node may not): curl --resolve."""
    inventory = topology.inventory
    assert inventory is not None
    worker = _host(inventory, inventory.workers[1].host)
    ip = _orchestrator_ip(inventory)
    assert checks.check_magicdns(worker, inventory, ip) == "fallback"
    assert "relaymd-orchestrator" in checks.check_healthz(worker, inventory, ip, "fallback")


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


def test_scripts_verify_runs_the_suite_and_reports_a_failure(
    topology: Topology, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command a tester runs, end to end: xdist across hosts, JUnit XML, the summary."""
    inventory = tmp_path / "inventory.json"
    assert topology.inventory is not None
    inventory.write_text(_quick(topology.inventory).to_json())
    junit = tmp_path / "junit.xml"
    arguments = ["--stack", "example", "--inventory", str(inventory), "--build", str(tmp_path)]
    assert cli.main(["verify", *arguments, "--junit", str(junit)]) == 0
    healthy = capsys.readouterr().out
    assert "PASS  test_from_worker::test_healthz_is_healthy" in healthy
    assert "FAIL" not in healthy
    assert junit.read_text().count("<testcase") == healthy.count("PASS")

    with broken(topology, "healthz-warning"):
        assert cli.main(["verify", *arguments]) == 1
    summary = capsys.readouterr().out
    # The same API behind both tailnet addresses: both /healthz checks see the warning.
    assert "FAIL  test_from_worker::test_healthz_is_healthy\n" in summary
    assert "FAIL  test_from_worker::test_healthz_is_healthy_over_ipv6\n" in summary
    assert "warnings present" in summary
    assert summary.count("FAIL") == 2
