"""A readable summary of a JUnit XML report: one line per check, failures with their reason."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

VERDICTS = {"failure": "FAIL", "error": "ERROR", "skipped": "SKIP"}


def summarize(junit: Path, elapsed: float) -> str:
    root = ElementTree.parse(junit).getroot()  # noqa: S314 - our own pytest's report
    lines: list[str] = []
    counts: dict[str, int] = {}
    for case in root.iter("testcase"):
        verdict, reason = "PASS", ""
        for child in case:
            if child.tag in VERDICTS:
                verdict = VERDICTS[child.tag]
                text = (child.get("message") or child.text or "").strip()
                reason = text.splitlines()[0] if text else ""
        counts[verdict] = counts.get(verdict, 0) + 1
        where = case.get("classname", "").rpartition(".")[2]
        lines.append(
            f"{verdict:5} {where}::{case.get('name')}" + (f"\n      {reason}" if reason else "")
        )
    total = ", ".join(f"{count} {verdict.lower()}" for verdict, count in sorted(counts.items()))
    lines.append(f"{total} in {elapsed:.1f}s")
    return "\n".join(lines)
