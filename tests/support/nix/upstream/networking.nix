# nixos/modules/tasks/network-interfaces.nix, nixos/modules/tasks/network-interfaces-systemd.nix,
# nixos/modules/services/networking/dhcpcd.nix, nixos/modules/config/resolvconf.nix,
# nixos/modules/services/networking/networkmanager.nix and
# nixos/modules/system/boot/resolved.nix (nixos-26.05).
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
in
{
  options.networking = {
    hostName = mkOption { type = types.strMatching "^$|^[[:alnum:]]([[:alnum:]_-]{0,61}[[:alnum:]])?$"; default = "nixos"; };
    useDHCP = mkOption { type = types.bool; default = true; };
    useNetworkd = mkOption { type = types.bool; default = false; };
    nameservers = mkOption { type = types.listOf types.str; default = [ ]; };
    enableIPv6 = mkOption { type = types.bool; default = true; };
    dhcpcd.enable = mkOption { type = types.bool; default = true; };
    dhcpcd.denyInterfaces = mkOption { type = types.listOf types.str; default = [ ]; };
    resolvconf.enable = mkOption { type = types.bool; default = true; };
    networkmanager.enable = mkOption { type = types.bool; default = false; };
  };
  options.services.resolved.enable = mkOption { type = types.bool; default = false; };

  # network-interfaces-systemd.nix: with networkd, dhcpcd steps aside and networkd runs.
  config = lib.mkIf config.networking.useNetworkd {
    networking.dhcpcd.enable = lib.mkDefault false;
    systemd.network.enable = lib.mkDefault true;
  };
}
