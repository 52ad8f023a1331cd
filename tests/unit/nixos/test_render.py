"""The rendered NixOS tree: layout, determinism, template safety, canaries, bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import pytest

from infra.config.hosts import SECRETS_DIR, TAILSCALE_AUTH_KEY_FILE
from infra.config.sources import NIXOS_DIR, TEMPLATE_NAME, TEMPLATES_DIR, module_sources
from infra.ground.errors import ConfigError
from infra.ground.project import PROJECT_ROOT
from infra.nixos.render import UnescapedValueError, render_host_configuration, template_environment
from tests.support.decided import decided_from_sops, decided_of
from tests.support.nixos_stacks import full_raw_config
from tests.support.stacks import canary_values


def test_tree_holds_each_host_and_verbatim_modules(example_config: dict[str, Any]) -> None:
    files = decided_of(example_config).artifacts
    nixos = sorted(path for path in files if path.startswith("nixos/"))
    modules = {f"nixos/modules/{name}" for name in module_sources()}
    assert set(nixos) == modules | {
        "nixos/relaymd-orchestrator/configuration.nix",
        "nixos/relaymd-orchestrator/hardware-configuration.nix",
        "nixos/relaymd-relay/configuration.nix",
    }
    for module in NIXOS_DIR.glob("*.nix"):
        assert files[f"nixos/modules/{module.name}"] == module.read_text()
    hardware = PROJECT_ROOT / example_config["orchestrator"]["hardware_configuration"]
    assert files["nixos/relaymd-orchestrator/hardware-configuration.nix"] == hardware.read_text()


def test_rendering_is_deterministic() -> None:
    first = decided_of(full_raw_config()).artifacts
    second = decided_of(full_raw_config()).artifacts
    assert first == second


def test_configurations_reference_secret_paths_never_values(
    canary_stack: dict[str, Any], canary_document: dict[str, Any]
) -> None:
    files = decided_from_sops(canary_stack).artifacts
    canaries = list(canary_values(canary_document))
    assert len(canaries) >= 5
    leaked = [
        (path, canary) for path, text in files.items() for canary in canaries if canary in text
    ]
    assert leaked == []
    # The files do name where the secrets will be: the paths, under the root-only directory.
    orchestrator = files["nixos/relaymd-orchestrator/configuration.nix"]
    assert f'authKeyFile = "{TAILSCALE_AUTH_KEY_FILE.path}";' in orchestrator
    assert f'directory = "{SECRETS_DIR}";' in orchestrator


def test_template_refuses_values_printed_without_the_nix_filter() -> None:
    template = template_environment().from_string("x = {{ value }};")
    with pytest.raises(UnescapedValueError, match="nix filter"):
        template.render(value="1; y = 2")
    assert template_environment().from_string("x = {{ value | nix }};").render(value='"') == (
        'x = "\\"";'
    )


def test_template_refuses_undefined_names() -> None:
    template = template_environment().from_string("x = {{ missing | nix }};")
    with pytest.raises(jinja2.UndefinedError):
        template.render()


def test_relay_configuration_enables_infisical_relay_only_when_configured() -> None:
    stack = decided_of(full_raw_config())
    relay_1, relay_2 = (host.spec for host in stack.relays)
    template = (TEMPLATES_DIR / TEMPLATE_NAME).read_text()
    assert "enable = true;" in render_host_configuration(stack.config, relay_1, template)
    disabled = render_host_configuration(stack.config, relay_2, template)
    assert "enable = false;" in disabled
    assert "infisical-relay.env" not in disabled


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("orchestrator", "tailnet_hostname", 'orch"; services.openssh.enable = false; x="'),
        ("orchestrator", "image", "ghcr.io/example-org/relaymd:${builtins.abort 1}"),
        ("orchestrator", "data_root", "/var/lib/relaymd\n/etc"),
        ("orchestrator", "lan_interface", "eth0\\"),
        ("orchestrator", "hardware_configuration", "/etc/nixos/hardware-configuration.nix"),
        ("orchestrator", "hardware_configuration", "nixos/hardware/../../secrets/x.nix"),
        ("relays", "tls_passthrough_upstream", 'proxy:443; }"'),
        ("relays", "internal_domain", "internal'' ${x}"),
        ("nixos", "admin_ssh_keys", ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA alice\nssh-rsa AAAA"]),
    ],
)
def test_hostile_values_in_strict_fields_are_rejected_with_the_field_path(
    example_config: dict[str, Any], section: str, field: str, value: object
) -> None:
    if section == "relays":
        example_config["relays"][0][field] = value
        path = f"relays[0].{field}"
    else:
        example_config.setdefault(section, {})[field] = value
        path = f"{section}.{field}"
    with pytest.raises(ConfigError) as raised:
        decided_of(example_config)
    assert path in str(raised.value)


def absent_hardware_file(raw: dict[str, Any]) -> None:
    raw["orchestrator"]["hardware_configuration"] = "nixos/hardware/absent.nix"


def no_hardware_file(raw: dict[str, Any]) -> None:
    del raw["orchestrator"]["hardware_configuration"]


def relay_named_modules(raw: dict[str, Any]) -> None:
    raw["relays"][0]["tailnet_hostname"] = "modules"


@pytest.mark.parametrize(
    ("change", "named", "says", "never_says"),
    [
        pytest.param(
            absent_hardware_file,
            r"orchestrator\.hardware_configuration",
            ("hardware-configuration.nix to nixos/hardware/absent.nix",),
            ("nixos-generate-config",),  # the fix names the file to copy
            id="missing hardware file is named with the fix",
        ),
        pytest.param(
            no_hardware_file,
            r"orchestrator\.hardware_configuration: got nothing",
            (),
            (),
            id="hardware configuration is required",
        ),
        pytest.param(
            relay_named_modules,
            r"relays\[0\]\.tailnet_hostname",
            (),
            (),
            id="a host cannot shadow the modules directory",
        ),
    ],
)
def test_a_nixos_tree_that_cannot_be_built_is_refused_naming_the_field(
    example_config: dict[str, Any],
    change: Callable[[dict[str, Any]], None],
    named: str,
    says: tuple[str, ...],
    never_says: tuple[str, ...],
) -> None:
    change(example_config)
    with pytest.raises(ConfigError, match=named) as raised:
        decided_of(example_config)
    for words in says:
        assert words in str(raised.value)
    for words in never_says:
        assert words not in str(raised.value)


def test_example_stack_files_exist_in_the_repository() -> None:
    assert (PROJECT_ROOT / "nixos" / "hardware" / "example-orchestrator.nix").is_file()
    assert Path(PROJECT_ROOT / "templates" / "configuration.nix.j2").is_file()


def _state_versions(raw: dict[str, Any]) -> dict[str, str]:
    files = decided_of(raw).artifacts
    versions = {}
    for path, text in files.items():
        if path.endswith("/configuration.nix"):
            line = next(line for line in text.splitlines() if "system.stateVersion" in line)
            versions[path.split("/")[1]] = line.split('"')[1]
    return versions


def test_each_host_keeps_the_release_it_was_installed_with() -> None:
    raw = full_raw_config()
    raw["orchestrator"]["state_version"] = "23.11"
    raw["relays"][1]["state_version"] = "25.11"
    assert _state_versions(raw) == {
        # The existing host says which release it was installed with.
        "relaymd-orchestrator": "23.11",
        # A relay this project installs takes the pin's release...
        "relaymd-relay": "26.05",
        # ...unless an earlier install is recorded.
        "relaymd-relay-2": "25.11",
    }


def test_a_new_pin_release_reaches_new_relays_only() -> None:
    raw = full_raw_config()
    raw["relays"][1]["state_version"] = "26.05"
    raw.setdefault("nixos", {})["nixpkgs_release"] = "26.11"
    versions = _state_versions(raw)
    assert versions["relaymd-relay"] == "26.11"
    assert versions["relaymd-relay-2"] == "26.05"
    assert versions["relaymd-orchestrator"] == "24.11"
