"""A hardware file must bring the host's boot loader: the rendered configuration replaces the
host's own configuration.nix, where nixos-generate-config puts it."""

from __future__ import annotations

import pytest

from infra.config import rules
from infra.config.hardware import declares_boot_loader
from infra.config.loading import parse_config
from infra.config.settings import StackConfig
from infra.config.sources import hardware_source
from tests.support.stacks import example_raw_config

# What `nixos-generate-config --show-hardware-config` prints: hardware only.
GENERATED = """\
{ config, lib, pkgs, modulesPath, ... }:
{
  imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];
  boot.initrd.availableKernelModules = [ "ahci" "nvme" ];
  boot.kernelModules = [ "kvm-intel" ];
  fileSystems."/" = { device = "/dev/disk/by-uuid/0000"; fsType = "ext4"; };
  networking.useDHCP = lib.mkDefault true;
}
"""


@pytest.mark.parametrize(
    "lines",
    [
        "boot.loader.systemd-boot.enable = true;",
        'boot.loader.grub.device = "/dev/sda";',
        'boot.loader.grub = { enable = true; devices = [ "/dev/sda" ]; };',
        "boot = { loader.systemd-boot.enable = true; };",
        "boot.loader = { grub.enable = false; generic-extlinux-compatible.enable = true; };",
    ],
)
def test_a_file_with_boot_loader_lines_declares_one(lines: str) -> None:
    assert declares_boot_loader(GENERATED.replace("}\n", f"  {lines}\n}}\n"))


@pytest.mark.parametrize(
    "text",
    [
        GENERATED,
        GENERATED.replace("}\n", "  # boot.loader.systemd-boot.enable = true;\n}\n"),
        GENERATED.replace("}\n", "  /* boot.loader.grub.enable = true; */\n}\n"),
        GENERATED.replace("}\n", '  environment.etc."bootloader".text = "x";\n}\n'),
    ],
)
def test_generated_hardware_only_or_commented_lines_declare_none(text: str) -> None:
    assert not declares_boot_loader(text)


def test_the_example_hardware_file_declares_its_boot_loader() -> None:
    config = parse_config("example", example_raw_config(), "Pulumi.example.yaml")
    assert declares_boot_loader(hardware_source(config.orchestrator.hardware_configuration))


def test_the_edge_refuses_a_hardware_file_without_a_boot_loader_and_names_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config: StackConfig = parse_config("example", example_raw_config(), "Pulumi.example.yaml")
    monkeypatch.setattr(rules, "hardware_source", lambda _: GENERATED)
    issues = [i for i in rules.consistency_issues(config) if "hardware" in i.path]
    assert len(issues) == 1
    issue = issues[0]
    assert issue.path == "orchestrator.hardware_configuration"
    assert "boot.loader" in issue.expected
    assert "--show-hardware-config" in issue.expected
    assert "nixos/hardware/README.md" in issue.expected
