"""Probes a checked host runs (probe.sh), and reading what it prints back, with bounds.

A probe is one :class:`Spec`; a batch of them runs at once on one host, in one SSH command.
"""

from __future__ import annotations

import base64
import binascii
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SCRIPT = (Path(__file__).resolve().parent / "probe.sh").read_text()
KINDS = frozenset({"tcp", "dns", "tsmp", "icmp", "http", "resolve"})
VERDICTS = frozenset(
    {
        "open",
        "refused",
        "filtered",
        "unreachable",
        "error",
        "rcode",
        "pong",
        "no-peer",
        "no-reply",
        "http",
        "found",
        "none",
    }
)
BLOCKED = frozenset({"filtered", "unreachable"})
"""A denied destination: dropped silently, or never routed there (no peer, no route)."""
MAX_DETAIL = 96 * 1024
MAX_LINES = 100_000


@dataclass(frozen=True)
class Spec:
    kind: str
    target: str
    """An address, a URL or a name."""
    argument: str = "-"
    """A port, a DNS name, or ``-``."""

    def words(self) -> tuple[str, str, str]:
        return self.kind, self.target, self.argument


@dataclass(frozen=True)
class Result:
    verdict: str
    value: str = ""
    """What follows the verdict: an rcode, a latency, an HTTP status."""
    detail: str = ""
    """Decoded text: an HTTP body, resolved addresses, an error message."""

    @property
    def blocked(self) -> bool:
        return self.verdict in BLOCKED

    def __str__(self) -> str:
        shown = f"{self.verdict} {self.value}".strip()
        return f"{shown} ({self.detail.strip()[:120]})" if self.verdict == "error" else shown


class ProbeOutputError(ValueError):
    """probe.sh printed something it never prints."""


def command(specs: Sequence[Spec], timeout: float, http_timeout: float, socket: str | None) -> str:
    words = [word for spec in specs for word in spec.words()]
    arguments = [f"{timeout:g}", f"{http_timeout:g}", socket or "-", *words]
    return " ".join(["bash", "-c", shlex.quote(SCRIPT), "probe", *map(shlex.quote, arguments)])


def _decode(text: str) -> str:
    if len(text) > MAX_DETAIL:
        raise ProbeOutputError("a probe's detail is longer than probe.sh ever prints")
    try:
        return base64.b64decode(text, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        raise ProbeOutputError("a probe's detail is not base64") from None


def parse(output: str, specs: Sequence[Spec]) -> dict[Spec, Result]:
    """probe.sh's lines, one per spec; ProbeOutputError when one is missing or malformed."""
    lines = output.splitlines()
    if len(lines) > MAX_LINES:
        raise ProbeOutputError("probe.sh printed more lines than probes")
    results: dict[Spec, Result] = {}
    for line in lines:
        index, _, rest = line.partition("\t")
        head, _, encoded = rest.partition("\t")
        verdict, _, value = head.partition(" ")
        if not index.isdigit() or int(index) >= len(specs) or verdict not in VERDICTS:
            raise ProbeOutputError(f"probe.sh printed {line[:80]!r}")
        results[specs[int(index)]] = Result(verdict, value[:64], _decode(encoded))
    missing = [spec for spec in specs if spec not in results]
    if missing:
        raise ProbeOutputError(f"probe.sh gave no verdict for {len(missing)} probe(s)")
    return results
