"""Judging /healthz: each unhealthy shape RelayMD 0.2.21 produces fails with its reason."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.verify.healthz import Expected, expected_from_url_host, judge

NAME = "relaymd-orchestrator"
DNS = f"{NAME}.tail0a1b2c.ts.net"
EXPECTED = Expected(hostname=NAME, dns_name=DNS)


def body(**change: Any) -> str:
    document: dict[str, Any] = {
        "status": "ok",
        "version": "0.2.21",
        "warnings": [],
        "tailscale": {
            "connected": True,
            "hostname": NAME,
            "dns_name": DNS,
            "ips": ["100.101.0.1"],
            "ip": "100.101.0.1",
        },
    }
    document.update(change)
    return json.dumps(document)


def test_healthy() -> None:
    verdict = judge(200, body(), EXPECTED)
    assert verdict.healthy, verdict.reason
    assert DNS in verdict.reason


@pytest.mark.parametrize(
    ("status", "text", "reason"),
    [
        (500, body(), "HTTP 500"),
        (200, "<html>", "not JSON"),
        (200, body(status="degraded"), "status is 'degraded'"),
        (
            200,
            body(
                tailscale={"connected": False, "error": "BackendState='NeedsLogin'"},
                warnings=["Tailscale is not connected (BackendState='NeedsLogin')."],
            ),
            "tailscale not connected: BackendState='NeedsLogin'",
        ),
        (200, body(warnings=["Queued jobs are waiting"]), "warnings present"),
        (200, body(tailscale=None), "no 'tailscale' object"),
    ],
)
def test_unhealthy_shapes(status: int, text: str, reason: str) -> None:
    verdict = judge(status, text, EXPECTED)
    assert not verdict.healthy
    assert reason in verdict.reason
    assert "\n" not in verdict.reason


def test_a_renamed_node_is_caught_by_its_magicdns_label() -> None:
    renamed = json.loads(body())["tailscale"] | {"dns_name": f"{NAME}-1.tail0a1b2c.ts.net"}
    verdict = judge(200, body(tailscale=renamed), Expected(hostname=NAME))
    assert not verdict.healthy
    assert "MagicDNS label 'relaymd-orchestrator-1'" in verdict.reason


def test_what_a_url_promises() -> None:
    assert expected_from_url_host("100.101.0.1") == Expected(address="100.101.0.1")
    assert expected_from_url_host(DNS) == Expected(dns_name=DNS)
    assert expected_from_url_host(NAME) == Expected(hostname=NAME)
    verdict = judge(200, body(), Expected(address="100.101.0.9"))
    assert not verdict.healthy
    assert "lack 100.101.0.9" in verdict.reason
