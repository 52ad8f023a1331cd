"""What a tester reads: one line per check as it finishes, grouped by host, then the verdict
of the run and its exit status (pure: events in, lines out).

Events come from the suite's pytest process (tests/infra/report.py), one per check: its host
block (``group``), ``title``, ``verdict`` (PASS, FAIL, SKIP, NOT JUDGED), ``text`` and, for a
skip, the name a tester may allow it by. What a host printed can reach these lines, so every
field is bounded and stripped of control characters (no terminal escape gets through).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

VERDICTS = ("PASS", "FAIL", "SKIP", "NOT JUDGED")
WIDTH = max(map(len, VERDICTS))
MAX_FIELD = 600
_UNPRINTABLE = re.compile(
    # Terminal escapes whole (CSI, OSC), then any control character left.
    r"\x1b\[[0-9;?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]"
)


class RunVerdict(Enum):
    """What a run comes to; the front door maps each onto its exit status."""

    GREEN = "green"
    FAILED = "a check failed, or a skip was not allowed"
    UNREACHABLE = "a host could not be reached over SSH, nothing else failed"
    REFUSED = "pytest refused its arguments, or they selected no check"
    BROKEN = "the suite itself could not run"


def clean(value: object, limit: int = MAX_FIELD) -> str:
    text = _UNPRINTABLE.sub("", str(value)).replace("\n", " ").replace("\t", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Line:
    group: str
    title: str
    verdict: str
    text: str
    skip_id: str | None = None
    unreachable: bool = False

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Line:
        verdict = str(event.get("verdict", "FAIL"))
        skip_id = event.get("skip_id")
        return cls(
            group=clean(event.get("group", "suite"), 120),
            title=clean(event.get("title", event.get("id", "?")), 200),
            verdict=verdict if verdict in VERDICTS else "FAIL",
            text=clean(event.get("text", "")),
            skip_id=clean(skip_id, 40) if isinstance(skip_id, str) else None,
            unreachable=event.get("unreachable") is True,
        )


@dataclass
class Report:
    """Folds events into lines and, at the end, the run's verdict and exit status."""

    allowed_skips: frozenset[str] = frozenset()
    lines: list[Line] = field(default_factory=list)
    _group: str | None = None

    def add(self, event: Mapping[str, Any]) -> list[str]:
        """The text to print for one event: a host's heading when a new block starts."""
        line = Line.of(event)
        self.lines.append(line)
        out = []
        if line.group != self._group:
            self._group = line.group
            out.append(line.group)
        text = f": {line.text}" if line.text else ""
        if line.verdict == "SKIP" and line.skip_id:
            allowed = line.skip_id in self.allowed_skips
            text += f" [--allow-skip {line.skip_id}{': allowed' if allowed else ''}]"
        out.append(f"  {line.verdict:<{WIDTH}}  {line.title}{text}")
        return out

    def unallowed_skips(self) -> list[Line]:
        return [
            line
            for line in self.lines
            if line.verdict == "SKIP" and (line.skip_id not in self.allowed_skips)
        ]

    def verdict(self) -> RunVerdict:
        if any(line.verdict == "FAIL" and not line.unreachable for line in self.lines):
            return RunVerdict.FAILED
        if any(line.unreachable for line in self.lines):
            return RunVerdict.UNREACHABLE
        if self.unallowed_skips() or self._not_judged() or not self.lines:
            return RunVerdict.FAILED
        return RunVerdict.GREEN

    def _not_judged(self) -> int:
        return sum(1 for line in self.lines if line.verdict == "NOT JUDGED")

    def closing(self, elapsed: float) -> list[str]:
        """The totals and the run's verdict in words."""
        counts = Counter(line.verdict for line in self.lines)
        words = {"PASS": "passed", "FAIL": "failed", "SKIP": "skipped", "NOT JUDGED": "not judged"}
        total = ", ".join(
            f"{counts[verdict]} {words[verdict]}" for verdict in VERDICTS if counts[verdict]
        )
        out = [f"{total or 'no check ran'} in {elapsed:.1f}s"]
        verdict = self.verdict()
        unreachable = [
            line.title.removesuffix(" reachable") for line in self.lines if line.unreachable
        ]
        failed = sum(1 for line in self.lines if line.verdict == "FAIL" and not line.unreachable)
        if failed:
            out.append(f"verdict: {failed} check(s) failed")
        elif verdict is RunVerdict.UNREACHABLE:
            out.append(f"verdict: not judged, {', '.join(unreachable)} unreachable over SSH")
        elif verdict is RunVerdict.FAILED and self._not_judged():
            out.append(f"verdict: not green, {self._not_judged()} check(s) not judged")
        elif verdict is RunVerdict.FAILED:
            names = sorted({line.skip_id or "unnamed" for line in self.unallowed_skips()})
            out.append(
                f"verdict: not green, {len(self.unallowed_skips())} check(s) skipped: a skip "
                f"proves nothing; accept one by name with --allow-skip ({', '.join(names)})"
            )
        else:
            out.append("verdict: green")
        if unreachable and verdict is RunVerdict.FAILED:
            out.append(f"also unreachable over SSH: {', '.join(unreachable)}")
        return out


def header(
    stack: str, hosts: Iterable[str], budget: float, timeout: float, untested: Iterable[str]
) -> list[str]:
    out = [
        f"Checking stack {clean(stack, 80)}: {', '.join(clean(host, 120) for host in hosts)}",
        f"retry budget {budget:g}s, probe timeout {timeout:g}s",
    ]
    users = [clean(source, 120) for source in untested]
    if users:
        out.append(
            f"not probed: the policy's tests for {', '.join(users)} (no test node carries a "
            "user's identity; Tailscale runs those tests itself when the policy is saved)"
        )
    return out
