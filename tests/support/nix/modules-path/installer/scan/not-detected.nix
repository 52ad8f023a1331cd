# nixos/modules/installer/scan/not-detected.nix (nixos-26.05): firmware for undetected hardware.
{ lib, ... }:
{
  hardware.enableRedistributableFirmware = lib.mkDefault true;
}
