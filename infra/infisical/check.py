"""The secrets check's findings, from names and values already read (pure; no I/O).

Reports names only: a value is looked at solely to tell whether the server trims it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from infra.ground.relaymd import Consumer, StorageProvider, known_names, required_names
from infra.infisical.values import server_would_trim


@dataclass(frozen=True)
class ConsumerFindings:
    consumer: Consumer
    required: tuple[str, ...]
    missing: tuple[str, ...]


@dataclass(frozen=True)
class CheckFindings:
    location: str
    storage: StorageProvider
    visible: int
    """How many secrets the identity sees at the path."""
    consumers: tuple[ConsumerFindings, ...]
    extra: tuple[str, ...]
    """Names at the path that no RelayMD component reads."""
    trimmed_live: tuple[str, ...]
    """Stored values with surrounding whitespace: the next write through the API trims them."""
    trimmed_wanted: tuple[str, ...]
    """Values in the stack's SOPS file that Infisical will store trimmed."""

    @property
    def anything_missing(self) -> bool:
        return any(findings.missing for findings in self.consumers)


def _consumer_findings(
    consumer: Consumer, storage: StorageProvider, live: Mapping[str, str]
) -> ConsumerFindings:
    required = required_names(consumer, storage)
    return ConsumerFindings(
        consumer, required, tuple(name for name in required if name not in live)
    )


def check_findings(
    location: str,
    storage: StorageProvider,
    live: Mapping[str, str],
    wanted: Mapping[str, str],
) -> CheckFindings:
    consumers = tuple(_consumer_findings(consumer, storage, live) for consumer in Consumer)
    return CheckFindings(
        location=location,
        storage=storage,
        visible=len(live),
        consumers=consumers,
        extra=tuple(sorted(live.keys() - known_names())),
        trimmed_live=tuple(
            sorted(name for name, value in live.items() if server_would_trim(value))
        ),
        trimmed_wanted=tuple(
            sorted(name for name, value in wanted.items() if server_would_trim(value))
        ),
    )


def render_findings(findings: CheckFindings) -> str:
    lines = [f"Infisical {findings.location} (storage provider: {findings.storage.value})"]
    if not findings.visible:
        # Infisical lists a missing folder, and secrets the identity may not describe, as
        # nothing (secret-v2-bridge-service.ts getSecrets): both cases look alike here.
        lines.append(
            "  no secret is visible there: nothing is stored yet, or the identity may not read "
            "this path (docs/operating.md, Infisical)"
        )
    for entry in findings.consumers:
        if entry.missing:
            lines.append(f"  {entry.consumer.value}: MISSING {', '.join(entry.missing)}")
        else:
            lines.append(f"  {entry.consumer.value}: ok ({len(entry.required)} required names)")
    if findings.extra:
        lines.append(f"  extra names no RelayMD component reads: {', '.join(findings.extra)}")
    if findings.trimmed_live:
        lines.append(
            "  stored values with surrounding whitespace (trimmed on the next write): "
            + ", ".join(findings.trimmed_live)
        )
    if findings.trimmed_wanted:
        lines.append(
            "  SOPS values Infisical will store trimmed (fix them in the SOPS file): "
            + ", ".join(f"relaymd.{name}" for name in findings.trimmed_wanted)
        )
    verdict = "missing required secrets" if findings.anything_missing else "every component ok"
    lines.append(f"Result: {verdict}")
    return "\n".join(lines)
