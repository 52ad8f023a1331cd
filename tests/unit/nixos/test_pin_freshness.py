"""How old the nixpkgs pin is, and whether its release is still supported: scripts/plan says so
on stderr, naming the command that fixes it, and never changes its exit status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from infra.cli import app
from infra.config.pin import committed_pin
from infra.config.settings import NixosSettings
from infra.nixos.pin import pin_warnings, release_end_of_life

PIN = committed_pin()


def test_each_release_is_supported_until_the_end_of_its_seventh_month() -> None:
    assert release_end_of_life("26.05") == date(2026, 12, 31)
    assert release_end_of_life("25.11") == date(2026, 6, 30)
    assert release_end_of_life("24.11") == date(2025, 6, 30)


def test_a_fresh_pin_of_a_supported_release_says_nothing() -> None:
    assert pin_warnings(NixosSettings(), PIN, PIN.committed + timedelta(days=30)) == []


def test_an_old_pin_names_its_age_and_the_command_that_bumps_it() -> None:
    [warning] = pin_warnings(NixosSettings(), PIN, PIN.committed + timedelta(days=31))
    assert "is 31 days old, more than nixos.pin_max_age_days (30)" in warning
    assert f"{PIN.branch} {PIN.revision[:12]}" in warning
    assert "supported until 2026-12-31" in warning
    assert "Bump it: scripts/nixpkgs-pin" in warning


def test_the_age_that_warns_is_a_setting() -> None:
    settings = NixosSettings(pin_max_age_days=150)
    assert pin_warnings(settings, PIN, PIN.committed + timedelta(days=150)) == []
    assert len(pin_warnings(settings, PIN, PIN.committed + timedelta(days=151))) == 1


def test_a_release_past_its_end_of_life_names_the_next_branch() -> None:
    warnings = pin_warnings(NixosSettings(), PIN, date(2027, 1, 1))
    assert len(warnings) == 2
    assert warnings[0].startswith("NixOS 26.05 went out of support on 2026-12-31")
    assert "scripts/nixpkgs-pin --branch nixos-26.11" in warnings[0]


def test_a_stacks_own_pin_is_judged_by_its_release_alone() -> None:
    other = NixosSettings(nixpkgs_revision="0" * 40)
    [warning] = pin_warnings(other, PIN, PIN.committed + timedelta(days=100))
    assert "nixos.nixpkgs_revision 000000000000 is not the committed pin" in warning
    assert "went out of support" not in warning


class _Clock(datetime):
    """datetime whose now() is the day the test names."""

    day = datetime(2026, 6, 20, tzinfo=UTC)

    @classmethod
    def now(cls, tz: Any = None) -> _Clock:
        return cls.fromtimestamp(cls.day.timestamp(), tz)


@pytest.mark.parametrize(
    ("today", "warns"), [(date(2026, 6, 20), False), (date(2026, 12, 8), True)]
)
def test_plan_warns_on_stderr_and_still_succeeds(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Any,
    today: date,
    warns: bool,
) -> None:
    import infra.plan.render as render

    monkeypatch.setattr(_Clock, "day", datetime(today.year, today.month, today.day, tzinfo=UTC))
    monkeypatch.setattr(render, "datetime", _Clock)
    assert app.main(["plan", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    warning = "==> warning: the nixpkgs pin (nixos-26.05-small c9172fa5143f of 2026-06-14) is"
    assert (warning in captured.err) is warns
    # stdout, which reviewers diff, never carries it.
    assert "warning" not in captured.out
