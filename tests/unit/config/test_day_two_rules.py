"""Settings a host's second day depends on: a key to log in with after the first switch, and
an Infisical CLI a relay can actually build."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config.loading import parse_config
from infra.config.settings import StackConfig
from infra.ground.errors import ConfigError
from tests.support.stacks import TEST_INFISICAL_CLI_SHA256, example_raw_config


def parsed(raw: dict[str, Any]) -> StackConfig:
    return parse_config("example", raw, "Pulumi.example.yaml")


def refusal(raw: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        parsed(raw)
    return str(raised.value)


def test_a_stack_without_an_admin_key_is_refused_naming_the_agents_key() -> None:
    raw = example_raw_config()
    raw["nixos"]["admin_ssh_keys"] = []
    message = refusal(raw)
    assert "nixos.admin_ssh_keys: got []; expected at least one public key" in message
    assert "admits no other key for admin (not even ~/.ssh/authorized_keys)" in message
    assert "ssh-add -L" in message


def test_an_infisical_relay_needs_the_clis_hash_and_says_how_to_get_it() -> None:
    raw = example_raw_config()
    raw["relays"][0]["infisical_relay"] = True
    message = refusal(raw)
    assert "nixos.infisical_cli.sha256: got null" in message
    assert "which relay-1 run(s) as an Infisical Relay" in message
    assert "run scripts/nixpkgs-pin where there is network" in message
    url = "https://github.com/Infisical/cli/releases/download/v0.43.121/cli_0.43.121_linux_amd64"
    assert f"prefetch-file {url}.tar.gz" in message
    assert "nixos.infisical_cli: null" in message


@pytest.mark.parametrize(
    "cli",
    [None, {"version": "0.43.121", "sha256": TEST_INFISICAL_CLI_SHA256}],
    ids=["the pin's own package", "a hash given"],
)
def test_an_infisical_relay_with_a_buildable_cli_is_accepted(cli: dict[str, str] | None) -> None:
    raw = example_raw_config()
    raw["relays"][0]["infisical_relay"] = True
    raw["nixos"]["infisical_cli"] = cli
    chosen = parsed(raw).nixos.infisical_cli
    if cli is None:
        assert chosen is None
    else:
        assert chosen is not None and chosen.sha256 == TEST_INFISICAL_CLI_SHA256


def test_without_an_infisical_relay_the_hash_is_not_needed() -> None:
    config = parsed(example_raw_config())
    assert config.nixos.infisical_cli is not None
    assert config.nixos.infisical_cli.sha256 is None
