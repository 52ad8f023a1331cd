"""Pairs of generated stacks for review tests: render each one as scripts/plan does."""

from __future__ import annotations

import copy
from typing import Any

from infra.plan.render import render_config
from tests.support.stacks import example_raw_config


def render_files(raw: dict[str, Any], stack: str = "example") -> dict[str, str]:
    """Every rendered file of ``raw`` (plan.json included), by its path under build/<stack>/."""
    files, _ = render_config(stack, raw)
    return files


def with_relays(count: int, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """The example with ``count`` relays, each a copy of relay-1 on its own address."""
    raw = copy.deepcopy(raw if raw is not None else example_raw_config())
    template = raw["relays"][0]
    relays = []
    for number in range(1, count + 1):
        relay = copy.deepcopy(template)
        relay.update(
            name=f"relay-{number}",
            address=f"10.100.10.{number + 1}/24",
            tailnet_hostname="relaymd-relay" if number == 1 else f"relaymd-relay-{number}",
        )
        relays.append(relay)
    raw["relays"] = relays
    return raw
