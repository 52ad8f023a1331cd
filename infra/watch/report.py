"""The watch as people read it (a table) and as machines read it (JSON of a stable schema).

The JSON document's shape is :data:`SCHEMA` (JSON Schema 2020-12), versioned by its ``schema``
field: fields may be added within a version, never renamed, removed or retyped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from infra.watch.model import RED, Finding, SourceStatus, State, Watch

SCHEMA_ID = "relaymd-infra/credential-watch/v1"

_TIME = {"type": ["string", "null"], "format": "date-time"}
_FINDING = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "id",
        "system",
        "name",
        "kind",
        "state",
        "red",
        "expires_at",
        "days_left",
        "uses",
        "uses_limit",
        "uses_left",
        "runs_out_at",
        "rotation_due_at",
        "detail",
        "fix",
    ],
    "properties": {
        "id": {"type": "string", "description": "stable: <system>.<credential>[.<host>]"},
        "system": {"enum": ["tailscale", "infisical", "proxmox"]},
        "name": {"type": "string"},
        "kind": {"enum": ["auth-key", "api-key", "oauth-client", "client-secret", "api-token"]},
        "state": {"enum": [state.value for state in State]},
        "red": {"type": "boolean", "description": "this credential alone makes the exit 1"},
        "expires_at": _TIME,
        "days_left": {"type": ["number", "null"], "description": "negative once expired"},
        "uses": {"type": ["integer", "null"]},
        "uses_limit": {"type": ["integer", "null"], "description": "0: unlimited"},
        "uses_left": {"type": ["integer", "null"]},
        "runs_out_at": {**_TIME, "description": "projected from the rate of use so far"},
        "rotation_due_at": _TIME,
        "detail": {"type": "string"},
        "fix": {"type": "string"},
    },
}
_SOURCE = {
    "type": "object",
    "additionalProperties": False,
    "required": ["system", "status", "message", "requests", "cost"],
    "properties": {
        "system": {"enum": ["tailscale", "infisical", "proxmox"]},
        "status": {"enum": [status.value for status in SourceStatus]},
        "message": {"type": "string"},
        "requests": {"type": "integer", "minimum": 0},
        "cost": {"type": "string"},
    },
}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "credential-watch report",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "schema",
        "stack",
        "checked_at",
        "window_days",
        "verdict",
        "exit_status",
        "credentials",
        "sources",
    ],
    "properties": {
        "schema": {"const": SCHEMA_ID},
        "stack": {"type": "string"},
        "checked_at": {"type": "string", "format": "date-time"},
        "window_days": {"type": "integer", "minimum": 1},
        "verdict": {"enum": ["green", "red", "refused", "unreachable"]},
        "exit_status": {"enum": [0, 1, 2, 3]},
        "credentials": {"type": "array", "items": _FINDING},
        "sources": {"type": "array", "items": _SOURCE},
    },
}


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _days_left(finding: Finding, now: datetime) -> float | None:
    if finding.expires_at is None:
        return None
    return round((finding.expires_at - now).total_seconds() / 86_400, 1)


def to_document(watch: Watch, exit_status: int) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "stack": watch.stack,
        "checked_at": _time(watch.checked_at),
        "window_days": watch.window_days,
        "verdict": watch.verdict.value,
        "exit_status": exit_status,
        "credentials": [
            {
                "id": finding.id,
                "system": finding.system.value,
                "name": finding.name,
                "kind": finding.kind,
                "state": finding.state.value,
                "red": finding.red,
                "expires_at": _time(finding.expires_at),
                "days_left": _days_left(finding, watch.checked_at),
                "uses": finding.uses,
                "uses_limit": finding.uses_limit,
                "uses_left": finding.uses_left,
                "runs_out_at": _time(finding.runs_out_at),
                "rotation_due_at": _time(finding.rotation_due_at),
                "detail": finding.detail,
                "fix": finding.fix,
            }
            for finding in watch.findings
        ],
        "sources": [
            {
                "system": source.system.value,
                "status": source.status.value,
                "message": source.message,
                "requests": source.requests,
                "cost": source.cost,
            }
            for source in watch.sources
        ],
    }


def _expires(finding: Finding) -> str:
    if finding.expires_at is not None:
        return f"{finding.expires_at:%Y-%m-%d %H:%M}"
    return "never" if finding.state is State.NO_EXPIRY else "-"


def _left(finding: Finding, now: datetime) -> str:
    if finding.expires_at is None:
        return "-"
    seconds = (finding.expires_at - now).total_seconds()
    if seconds <= 0:
        return "expired"
    if seconds < 86_400:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86_400:.0f} d"


def _uses(finding: Finding) -> str:
    if finding.uses is None:
        return "-"
    if not finding.uses_limit:
        return f"{finding.uses} (no limit)"
    return f"{finding.uses_left} of {finding.uses_limit} left"


def _state(finding: Finding) -> str:
    return f"RED {finding.state.value}" if finding.state in RED else finding.state.value


def render_table(watch: Watch, exit_status: int) -> str:
    now = watch.checked_at
    header = ("SYSTEM", "CREDENTIAL", "EXPIRES (UTC)", "LEFT", "USES", "STATE")
    rows = [
        (
            finding.system.value,
            finding.name,
            _expires(finding),
            _left(finding, now),
            _uses(finding),
            _state(finding),
        )
        for finding in watch.findings
    ]
    widths = [max(len(row[column]) for row in (header, *rows)) for column in range(len(header))]
    lines = [
        f"Credential watch: stack {watch.stack}, window {watch.window_days} days, "
        f"{now:%Y-%m-%d %H:%M} UTC",
        "",
        *(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in (header, *rows)
        ),
    ]
    notes = [finding for finding in watch.findings if finding.detail or finding.red]
    if notes:
        lines += ["", "Details:"]
        for finding in notes:
            lines.append(f"  {finding.system.value} {finding.name}: {finding.detail or '-'}")
            if finding.red and finding.fix:
                lines.append(f"    fix: {finding.fix}")
    lines += ["", "Sources:"]
    for source in watch.sources:
        spent = f"{source.requests} request(s)" + (f"; {source.cost}" if source.cost else "")
        said = f": {source.message}" if source.message else ""
        lines.append(f"  {source.system.value:<9}  {source.status.value}{said} ({spent})")
    lines += ["", f"Result: {_verdict_line(watch)} (exit {exit_status})"]
    return "\n".join(lines)


def _verdict_line(watch: Watch) -> str:
    red = [finding for finding in watch.findings if finding.red]
    if red:
        return (
            f"RED: {len(red)} credential(s) expire, run out or are refused within "
            f"{watch.window_days} days: {', '.join(finding.id for finding in red)}"
        )
    failed = [
        source.system.value
        for source in watch.sources
        if source.status in (SourceStatus.REFUSED, SourceStatus.UNREACHABLE)
    ]
    if failed:
        return f"not judged: {', '.join(failed)} could not be read (see Sources)"
    return f"green: nothing expires or runs out within {watch.window_days} days"
