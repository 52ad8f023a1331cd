"""The watch's judgement, pure: states against the window, uses projected, the verdict's order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.watch.model import (
    REDACTED,
    Finding,
    SourceResult,
    SourceStatus,
    State,
    System,
    Verdict,
    Watch,
    expiry_state,
    limited_state,
    runs_out_at,
)

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)


@pytest.mark.parametrize(
    ("expires", "state"),
    [
        (None, State.NO_EXPIRY),
        (NOW - timedelta(seconds=1), State.EXPIRED),
        (NOW, State.EXPIRED),
        (NOW + timedelta(days=1), State.WITHIN_WINDOW),
        (NOW + WINDOW, State.WITHIN_WINDOW),
        (NOW + WINDOW + timedelta(seconds=1), State.OK),
    ],
)
def test_a_date_is_judged_against_the_window_edges_included(
    expires: datetime | None, state: State
) -> None:
    assert expiry_state(expires, NOW, WINDOW) is state


def test_uses_run_out_at_the_rate_seen_since_creation() -> None:
    created = NOW - timedelta(days=10)
    # 50 uses in 10 days: 5 a day; 50 left: 10 days.
    assert runs_out_at(50, 100, created, NOW) == NOW + timedelta(days=10)
    assert runs_out_at(0, 100, created, NOW) is None  # no rate yet
    assert runs_out_at(50, 0, created, NOW) is None  # unlimited
    # A young secret's rate counts one whole day: 3 uses in its first hour is 3 a day.
    assert runs_out_at(3, 30, NOW - timedelta(hours=1), NOW) == NOW + timedelta(days=9)


@pytest.mark.parametrize(
    ("expires", "uses", "limit", "state"),
    [
        (None, 5, 0, State.NO_EXPIRY),
        (None, 5, 1000, State.OK),  # 0.5 a day: thousands of days left
        (None, 50, 100, State.WITHIN_WINDOW),  # runs out in 10 days
        (None, 100, 100, State.USED_UP),
        (NOW + timedelta(days=3), 5, 1000, State.WITHIN_WINDOW),
        (NOW - timedelta(days=3), 100, 100, State.EXPIRED),
        (NOW + timedelta(days=300), 5, 0, State.OK),
    ],
)
def test_a_limited_secret_takes_the_worse_of_its_date_and_its_uses(
    expires: datetime | None, uses: int, limit: int, state: State
) -> None:
    judged, _ = limited_state(expires, uses, limit, NOW - timedelta(days=10), NOW, WINDOW)
    assert judged is state


def _watch(*sources: SourceResult) -> Watch:
    return Watch("s", NOW, 14, sources)


def _finding(state: State) -> Finding:
    return Finding("tailscale.worker-key", System.TAILSCALE, "worker key", "auth-key", state)


def test_red_wins_then_refused_then_unreachable() -> None:
    red = SourceResult(System.TAILSCALE, SourceStatus.OK, (_finding(State.WITHIN_WINDOW),))
    green = SourceResult(System.TAILSCALE, SourceStatus.OK, (_finding(State.OK),))
    refused = SourceResult(System.INFISICAL, SourceStatus.REFUSED)
    unreachable = SourceResult(System.PROXMOX, SourceStatus.UNREACHABLE)
    assert _watch(red, refused, unreachable).verdict is Verdict.RED
    assert _watch(green, refused, unreachable).verdict is Verdict.REFUSED
    assert _watch(green, unreachable).verdict is Verdict.UNREACHABLE
    assert _watch(green, SourceResult(System.PROXMOX, SourceStatus.SKIPPED)).verdict is (
        Verdict.GREEN
    )


@pytest.mark.parametrize(
    "state", [State.WITHIN_WINDOW, State.EXPIRED, State.USED_UP, State.REJECTED, State.MISSING]
)
def test_each_red_state_turns_the_watch_red(state: State) -> None:
    assert _watch(SourceResult(System.TAILSCALE, SourceStatus.OK, (_finding(state),))).verdict is (
        Verdict.RED
    )


@pytest.mark.parametrize("state", [State.OK, State.NO_EXPIRY, State.SPENT, State.UNCHECKED])
def test_the_other_states_keep_it_green(state: State) -> None:
    assert _watch(SourceResult(System.TAILSCALE, SourceStatus.OK, (_finding(state),))).verdict is (
        Verdict.GREEN
    )


def test_redaction_hides_every_secret_a_message_quotes_longest_first() -> None:
    quoted = Finding(
        "proxmox.api-token",
        System.PROXMOX,
        "API token",
        "api-token",
        State.REJECTED,
        detail="server said: bad token u@pve!t=CANARY-secret-1",
        fix="not CANARY-secret-1 again",
    )
    watch = _watch(
        SourceResult(System.PROXMOX, SourceStatus.REFUSED, (quoted,), "echo CANARY-secret-1")
    )
    clean = watch.redacted(["CANARY-secret-1", "u@pve!t=CANARY-secret-1", "ab"])
    [finding] = clean.findings
    assert finding.detail == f"server said: bad token {REDACTED}"
    assert finding.fix == f"not {REDACTED} again"
    assert clean.sources[0].message == f"echo {REDACTED}"
    # The control: the same watch, unredacted, does carry the value.
    assert "CANARY" in watch.findings[0].detail
