"""Runs the checks of one inventory: per-host threads, facts gathered once, probes batched.

Each host group's checks run in order on a thread of their own, so hosts are checked side by
side. What checks share is computed once, by whichever asks first:

- a host's facts (one SSH command: ``tailscale status --json``, ``ss -Htuln``, its units);
  gathering them is also what proves the host reachable over SSH;
- a prober's probes: every probe its checks need, run at once in one SSH command;
- whether a node is what it should be (Running, Online, tagged) and whether a target is alive
  for a prober (the live-path control): the checks that depend on them are not judged when
  they fail, and say why.

Checks of state that converges retry, with fresh facts and probes, until the inventory's
``budget_seconds`` is spent.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from infra.verify.inventory import Inventory, Node
from infra.verify.observed import (
    Listener,
    ObservedError,
    Status,
    parse_listeners,
    parse_status,
)
from infra.verify.policy import Party, Policy
from tests.infra import probes
from tests.infra.probes import Result, Spec
from tests.infra.remote import (
    Connector,
    Endpoint,
    Remote,
    Section,
    UnreachableError,
    facts_command,
    parse_facts,
)

PAUSE_SECONDS = 0.5
LAN_PROBE = "LAN probe"
_T = TypeVar("_T")


class Verdict(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"
    NOT_JUDGED = "NOT JUDGED"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    text: str
    skip_id: str | None = None
    unreachable: bool = False
    """An SSH failure: nothing was judged on that host (exit 3 rather than 1)."""


class CheckFailedError(Exception):
    """The check's verdict, in one plain sentence."""


class NotJudgedError(Exception):
    """A check that could not be judged because something it rests on failed."""


class SkippedError(Exception):
    """Nothing to check here; the run fails unless the tester allows ``skip_id``."""

    def __init__(self, skip_id: str, reason: str) -> None:
        super().__init__(reason)
        self.skip_id = skip_id


@dataclass(frozen=True)
class Check:
    id: str
    """Stable; the pytest id, so ``-k`` selects by it."""
    group: str
    """The host whose block the line appears in: the host that runs it."""
    title: str
    prober: str
    """Where it runs (a hostname, or ``LAN probe``)."""
    target: str
    judge: Callable[[Context], str]
    specs: Callable[[Engine], list[Spec]] | None = None
    retry: bool = False
    ssh: bool = False
    """The host's SSH reachability: its failure makes the run exit 3, not 1."""


@dataclass
class Context:
    """One attempt at one check."""

    engine: Engine
    check: Check
    fresh: bool

    def facts(self, node: Node) -> Facts:
        return self.engine.facts(node, self.fresh)

    def results(self) -> dict[Spec, Result]:
        specs = self.check.specs(self.engine) if self.check.specs else []
        return self.engine.probe(self.check.prober, specs, self.fresh)


def last_line(text: str, status: int) -> str:
    """What a failed command said last, or its exit status when it said nothing."""
    lines = text.strip().splitlines()
    return lines[-1][:200] if lines else f"exit status {status}"


@dataclass(frozen=True)
class Facts:
    label: str
    sections: dict[str, Section]

    def _section(self, name: str) -> Section:
        section = self.sections.get(name)
        if section is None:
            raise CheckFailedError(f"{self.label}: the host printed no {name}")
        return section

    def status(self) -> Status:
        section = self._section("status")
        if section.status != 0:
            why = last_line(section.output, section.status)
            raise CheckFailedError(f"{self.label}: `tailscale status` failed: {why}")
        try:
            return parse_status(section.output)
        except ObservedError as error:
            raise CheckFailedError(f"{self.label}: {error}") from None

    def listeners(self) -> tuple[Listener, ...]:
        section = self._section("listeners")
        if section.status != 0:
            raise CheckFailedError(
                f"{self.label}: `ss -Htuln` failed: {section.output.strip()[:200]}"
            )
        try:
            return parse_listeners(section.output)
        except ObservedError as error:
            raise CheckFailedError(f"{self.label}: {error}") from None

    def unit(self, name: str, units: Sequence[str]) -> str:
        """``systemctl is-active``'s answer for ``name`` (one of ``units``, in the order they
        were asked): ``active`` only when the unit runs."""
        section = self._section("units")
        states = section.output.strip().splitlines()
        if section.status not in (0, 3) or len(states) != len(units) or name not in units:
            return "unknown (systemctl gave no state)"
        return states[list(units).index(name)][:80]

    def tailscaled_command_line(self) -> str:
        return self._section("tailscaled-cmdline").output


@dataclass
class _Memo:
    futures: dict[tuple[str, ...], Future[Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Engine:
    def __init__(self, inventory: Inventory, connector: Connector) -> None:
        self.inventory = inventory
        self.policy: Policy = inventory.tailnet_policy
        self.connector = connector
        self._remotes: dict[str, Remote] = {}
        self._remote_lock = threading.Lock()
        self._memo = _Memo()
        self._checks: list[Check] = []
        self._by_id: dict[str, Check] = {}
        self.outcomes: dict[str, Future[Outcome]] = {}
        self._threads: list[threading.Thread] = []
        self._pool = ThreadPoolExecutor(max_workers=2 * len(inventory.nodes()) + 4)

    # -- hosts ----------------------------------------------------------------------

    def node(self, label: str) -> Node:
        for node in self.inventory.nodes():
            if node.hostname == label:
                return node
        raise KeyError(label)

    def endpoint(self, label: str) -> Endpoint:
        if label == LAN_PROBE:
            return Endpoint(LAN_PROBE, self.inventory.lan_probe, self.inventory.lan_probe_host_key)
        node = self.node(label)
        return Endpoint(node.hostname, node.host, node.ssh_host_key)

    def remote(self, label: str) -> Remote:
        with self._remote_lock:
            if label not in self._remotes:
                self._remotes[label] = self.connector.connect(self.endpoint(label))
            return self._remotes[label]

    def socket(self, label: str) -> str | None:
        return None if label == LAN_PROBE else self.node(label).tailscale_socket

    # -- computed once -------------------------------------------------------------------

    def once(self, key: tuple[str, ...], compute: Callable[[], _T], fresh: bool = False) -> _T:
        """``compute()`` once per key (its exception too); ``fresh`` computes it again."""
        with self._memo.lock:
            future = self._memo.futures.get(key)
            mine = future is None or (fresh and future.done())
            if mine:
                future = Future()
                self._memo.futures[key] = future
        assert future is not None
        if mine:
            try:
                future.set_result(compute())
            except BaseException as error:
                future.set_exception(error)
        result: _T = future.result()
        return result

    def units(self, node: Node) -> list[str]:
        """What ``systemctl is-active`` is asked about on ``node``, in order."""
        units = ["tailscaled"]
        if node == self.inventory.orchestrator:
            units.append(self.inventory.orchestrator.unit)
        if node in self.inventory.relays:
            units.append(self.inventory.relay_unit)
        return units

    def facts(self, node: Node, fresh: bool = False) -> Facts:
        def gather() -> Facts:
            remote = self.remote(node.hostname)
            wanted = node == self.inventory.orchestrator  # its ephemerality check reads it
            command = facts_command(node.tailscale_socket, self.units(node)[1:], wanted)
            output = remote.run(command)
            try:
                return Facts(node.hostname, parse_facts(output.stdout))
            except ObservedError as error:
                raise CheckFailedError(f"{node.hostname}: {error}") from None

        return self.once(("facts", node.hostname), gather, fresh)

    def unit(self, node: Node, name: str, fresh: bool = False) -> str:
        return self.facts(node, fresh).unit(name, self.units(node))

    def status(self, node: Node, fresh: bool = False) -> Status:
        return self.facts(node, fresh).status()

    def addresses(self, node: Node, fresh: bool = False) -> tuple[str, ...]:
        """The node's tailnet addresses, as it reports them (or as the inventory gives them)."""
        if node.tailnet_ip:
            return (node.tailnet_ip,)
        try:
            found = self.status(node, fresh).me.addresses
        except UnreachableError:
            raise NotJudgedError(
                f"{node.hostname} is unreachable over SSH (see its SSH line)"
            ) from None
        if not found:
            raise CheckFailedError(f"{node.hostname} reports no tailnet address")
        return found

    def party(self, node: Node, fresh: bool = False) -> Party:
        """The node as the rendered policy sees it: the tag it should carry, its addresses."""
        return Party((node.tag,), self.addresses(node, fresh))

    # -- probes ---------------------------------------------------------------------

    def _batch_specs(self, prober: str) -> list[Spec]:
        specs: list[Spec] = []
        for check in self._checks:
            if check.prober != prober or check.specs is None:
                continue
            try:
                specs += [spec for spec in check.specs(self) if spec not in specs]
            except (CheckFailedError, NotJudgedError, SkippedError, UnreachableError):
                continue  # the check itself reports why
        return specs

    def run_probes(self, prober: str, specs: Sequence[Spec]) -> dict[Spec, Result]:
        if not specs:
            return {}
        remote = self.remote(prober)
        output = remote.run(
            probes.command(
                specs,
                self.inventory.probe_timeout_seconds,
                self.inventory.healthz_timeout_seconds,
                self.socket(prober),
            )
        )
        if output.rc != 0:
            why = last_line(output.stderr, output.rc)
            raise CheckFailedError(f"the probes did not run on {prober}: {why}")
        try:
            return probes.parse(output.stdout, specs)
        except probes.ProbeOutputError as error:
            raise CheckFailedError(f"the probes on {prober}: {error}") from None

    def probe(self, prober: str, specs: Sequence[Spec], fresh: bool) -> dict[Spec, Result]:
        """Results of ``specs`` on ``prober``: from its batch, or run again when ``fresh``."""
        if not specs:
            return {}
        if not fresh:
            batch = self.once(
                ("batch", prober), lambda: self.run_probes(prober, self._batch_specs(prober))
            )
            if all(spec in batch for spec in specs):
                return {spec: batch[spec] for spec in specs}
        return self.run_probes(prober, specs)

    # -- running --------------------------------------------------------------------

    def retrying(self, attempt: Callable[[bool], _T]) -> _T:
        """``attempt(fresh)`` until it stops failing or the budget is spent; ``fresh`` is
        False the first time (shared facts and batches), True after (asked again)."""
        deadline = time.monotonic() + self.inventory.budget_seconds
        fresh = False
        while True:
            try:
                return attempt(fresh)
            except CheckFailedError:
                if time.monotonic() + PAUSE_SECONDS > deadline:
                    raise
            time.sleep(PAUSE_SECONDS)
            fresh = True

    def evaluate(self, check: Check) -> Outcome:
        deadline = time.monotonic() + (self.inventory.budget_seconds if check.retry else 0.0)
        attempt = 0
        while True:
            try:
                return Outcome(Verdict.PASS, check.judge(Context(self, check, attempt > 0)))
            except CheckFailedError as failure:
                if time.monotonic() + PAUSE_SECONDS > deadline:
                    return Outcome(Verdict.FAIL, str(failure))
            except NotJudgedError as reason:
                return Outcome(Verdict.NOT_JUDGED, str(reason))
            except SkippedError as skip:
                return Outcome(Verdict.SKIP, str(skip), skip.skip_id)
            except UnreachableError as error:
                if check.ssh:
                    return Outcome(Verdict.FAIL, f"unreachable over SSH: {error}", unreachable=True)
                return Outcome(
                    Verdict.NOT_JUDGED, f"{check.prober} is unreachable over SSH (see its SSH line)"
                )
            time.sleep(PAUSE_SECONDS)
            attempt += 1

    def start(self, checks: Iterable[Check]) -> None:
        """Judge ``checks``: each group in order on its own thread; facts fetched at once."""
        self._checks = list(checks)
        self._by_id = {check.id: check for check in self._checks}
        for check in self._checks:
            self.outcomes[check.id] = Future()
        involved = {name for check in self._checks for name in (check.prober, check.target)}
        for node in self.inventory.nodes():
            if node.hostname in involved:
                self._pool.submit(self._prefetch, node)
        groups: dict[str, list[Check]] = {}
        for check in self._checks:
            groups.setdefault(check.group, []).append(check)
        for group in groups.values():
            thread = threading.Thread(target=self._run_group, args=(group,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _prefetch(self, node: Node) -> None:
        with contextlib.suppress(Exception):  # the checks that read them report it
            self.facts(node)

    def _run_group(self, checks: Sequence[Check]) -> None:
        for check in checks:
            try:
                outcome = self.evaluate(check)
            except Exception as error:
                outcome = Outcome(Verdict.FAIL, f"the check itself broke: {error!r:.300}")
            self.outcomes[check.id].set_result(outcome)

    def check(self, check_id: str) -> Check:
        return self._by_id[check_id]

    def outcome(self, check_id: str) -> Outcome:
        return self.outcomes[check_id].result()

    def close(self) -> None:
        """Wait for the checks' threads; the connector (and its masters) is its owner's."""
        for thread in self._threads:
            thread.join(timeout=self.inventory.budget_seconds + 60)
        self._pool.shutdown(wait=False, cancel_futures=True)
