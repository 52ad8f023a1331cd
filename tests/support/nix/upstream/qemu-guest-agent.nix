# nixos/modules/virtualisation/qemu-guest-agent.nix (nixos-26.05).
{ lib, ... }:
{
  options.services.qemuGuest.enable = lib.mkOption { type = lib.types.bool; default = false; };
}
