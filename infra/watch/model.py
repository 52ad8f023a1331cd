"""What the credential watch found, and how it is judged (pure: no I/O, the clock passed in).

A *finding* is one credential: when it ends (a date, a number of uses, or never) and its
*state* against the window. A *source* is one system asked (Tailscale, Infisical, Proxmox)
and whether it could be asked at all. The verdict follows from both (:attr:`Watch.verdict`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from infra.ground.http import HttpError, NoAnswerError, NotSentError


class System(StrEnum):
    TAILSCALE = "tailscale"
    INFISICAL = "infisical"
    PROXMOX = "proxmox"


class State(StrEnum):
    OK = "ok"
    """Ends after the window."""
    NO_EXPIRY = "no-expiry"
    """Does not end by itself (it can still be revoked)."""
    SPENT = "spent"
    """A single-use key that is no longer active: nothing left to watch."""
    WITHIN_WINDOW = "within-window"
    """Ends (by date or by its uses) inside the window."""
    EXPIRED = "expired"
    USED_UP = "used-up"
    REJECTED = "rejected"
    """The service refuses the credential now (expired, revoked or wrong: it does not say)."""
    MISSING = "missing"
    """What should be there is not (no valid worker key, a client secret not listed)."""
    UNCHECKED = "unchecked"
    """Not judged: its source was skipped, refused or unreachable."""


RED = frozenset({State.WITHIN_WINDOW, State.EXPIRED, State.USED_UP, State.REJECTED, State.MISSING})
"""States that turn the watch red (exit 1)."""


class SourceStatus(StrEnum):
    OK = "ok"
    """Asked; every credential it holds was judged."""
    REFUSED = "refused"
    """Input or an answer refused (a setting, a permission, a malformed answer): exit 2."""
    UNREACHABLE = "unreachable"
    """No usable answer (network, deadline, 429/5xx past the retry budget): exit 3."""
    SKIPPED = "skipped"
    """Not asked: ``--skip``."""
    NOT_CONFIGURED = "not-configured"
    """The stack does not use it (no relays, so no Proxmox)."""


class Verdict(StrEnum):
    GREEN = "green"
    RED = "red"
    REFUSED = "refused"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Finding:
    id: str
    """Stable: ``<system>.<credential>[.<host>]``; scripts may key on it."""
    system: System
    name: str
    """For people: what the credential is."""
    kind: str
    """``auth-key``, ``api-key``, ``oauth-client``, ``client-secret`` or ``api-token``."""
    state: State
    expires_at: datetime | None = None
    uses: int | None = None
    uses_limit: int | None = None
    """None: not counted; 0: unlimited."""
    runs_out_at: datetime | None = None
    """When the uses run out at the rate seen since creation; None when not limited."""
    rotation_due_at: datetime | None = None
    detail: str = ""
    fix: str = ""

    @property
    def red(self) -> bool:
        return self.state in RED

    @property
    def uses_left(self) -> int | None:
        if self.uses is None or not self.uses_limit:
            return None
        return max(0, self.uses_limit - self.uses)


@dataclass(frozen=True)
class SourceResult:
    system: System
    status: SourceStatus
    findings: tuple[Finding, ...] = ()
    message: str = ""
    """Why it was refused or unreachable, with the fix; empty when ok."""
    requests: int = 0
    """HTTP requests sent to the service (retries included)."""
    cost: str = ""
    """What the reads cost the service beyond requests (a use of a limited secret)."""


def unjudged(
    system: System,
    error: HttpError,
    findings: tuple[Finding, ...],
    where: str,
    requests: int,
    fix: str = "",
) -> SourceResult:
    """A source whose answer could not be used: unreachable when none came (exit 3), refused
    when one came that the watch will not use or that refused the watch (exit 2)."""
    unreachable = isinstance(error, NotSentError | NoAnswerError)
    status = SourceStatus.UNREACHABLE if unreachable else SourceStatus.REFUSED
    message = f"{where}: {error}" + (f"; {fix}" if fix else "")
    return SourceResult(system, status, findings, message, requests)


@dataclass(frozen=True)
class Watch:
    stack: str
    checked_at: datetime
    window_days: int
    sources: tuple[SourceResult, ...]

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(finding for source in self.sources for finding in source.findings)

    @property
    def verdict(self) -> Verdict:
        """Red wins: a credential found inside the window is a certain finding whatever else
        failed. Then a refused input (it needs a fix), then an unreachable service."""
        if any(finding.red for finding in self.findings):
            return Verdict.RED
        statuses = {source.status for source in self.sources}
        if SourceStatus.REFUSED in statuses:
            return Verdict.REFUSED
        if SourceStatus.UNREACHABLE in statuses:
            return Verdict.UNREACHABLE
        return Verdict.GREEN

    def redacted(self, secrets: Iterable[str]) -> Watch:
        """Every free text with each secret replaced: a server's message may quote what it
        was sent, and nothing here may print a secret value."""
        hidden = sorted({value for value in secrets if len(value) >= MIN_REDACTED}, key=len)
        hidden.reverse()  # longest first: a secret containing another is hidden whole

        def clean(text: str) -> str:
            for value in hidden:
                text = text.replace(value, REDACTED)
            return text

        return replace(
            self,
            sources=tuple(
                replace(
                    source,
                    message=clean(source.message),
                    cost=clean(source.cost),
                    findings=tuple(
                        replace(f, name=clean(f.name), detail=clean(f.detail), fix=clean(f.fix))
                        for f in source.findings
                    ),
                )
                for source in self.sources
            ),
        )


REDACTED = "[secret]"
MIN_REDACTED = 4
"""Shorter values are not searched for: they would blank ordinary words."""


def expiry_state(expires_at: datetime | None, now: datetime, window: timedelta) -> State:
    if expires_at is None:
        return State.NO_EXPIRY
    if expires_at <= now:
        return State.EXPIRED
    if expires_at <= now + window:
        return State.WITHIN_WINDOW
    return State.OK


def runs_out_at(uses: int, uses_limit: int, created_at: datetime, now: datetime) -> datetime | None:
    """When a use-limited credential runs out at the rate it was used since it was created.

    The rate counts at least one day, so a secret used a few times in its first hour is not
    projected to run out by tonight. None when unlimited or never used yet.
    """
    if uses_limit <= 0 or uses <= 0:
        return None
    left = max(0, uses_limit - uses)
    days = max((now - created_at).total_seconds() / 86_400, 1.0)
    per_day = uses / days
    return now + timedelta(days=left / per_day)


_SEVERITY = {
    State.EXPIRED: 4,
    State.USED_UP: 4,
    State.WITHIN_WINDOW: 3,
    State.OK: 1,
    State.NO_EXPIRY: 0,
}


def limited_state(
    expires_at: datetime | None,
    uses: int,
    uses_limit: int,
    created_at: datetime,
    now: datetime,
    window: timedelta,
) -> tuple[State, datetime | None]:
    """The worse of the date and the uses, and when the uses run out (a projection)."""
    by_date = expiry_state(expires_at, now, window)
    projected = runs_out_at(uses, uses_limit, created_at, now)
    if uses_limit > 0 and uses >= uses_limit:
        by_uses = State.USED_UP
    elif projected is not None and projected <= now + window:
        by_uses = State.WITHIN_WINDOW
    elif uses_limit > 0:
        by_uses = State.OK
    else:
        by_uses = State.NO_EXPIRY
    worse = max((by_date, by_uses), key=lambda state: _SEVERITY[state])
    return worse, projected
