# nixos/modules/services/networking/firewall.nix (nixos-26.05).
# The config it adds matters: with the firewall on, `lo` is always a trusted interface, and
# every interface's open ports are collected into `allInterfaces` (the global lists under the
# name "default"), which the iptables/nftables back ends turn into rules.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.networking.firewall;
  # Upstream sorts each port list and drops repeats.
  canonicalizePortList = ports: lib.unique (builtins.sort builtins.lessThan ports);
  portRange = types.submodule {
    options = {
      from = mkOption { type = types.port; };
      to = mkOption { type = types.port; };
    };
  };
  commonOptions = {
    allowedTCPPorts = mkOption { type = types.listOf types.port; default = [ ]; apply = canonicalizePortList; };
    allowedTCPPortRanges = mkOption { type = types.listOf portRange; default = [ ]; };
    allowedUDPPorts = mkOption { type = types.listOf types.port; default = [ ]; apply = canonicalizePortList; };
    allowedUDPPortRanges = mkOption { type = types.listOf portRange; default = [ ]; };
  };
in
{
  options.networking.firewall = {
    enable = mkOption { type = types.bool; default = true; };
    allowPing = mkOption { type = types.bool; default = true; };
    trustedInterfaces = mkOption { type = types.listOf types.str; default = [ ]; };
    checkReversePath = mkOption {
      type = types.either types.bool (types.enum [ "strict" "loose" ]);
      default = true;
    };
    logRefusedConnections = mkOption { type = types.bool; default = true; };
    interfaces = mkOption {
      type = types.attrsOf (types.submodule { options = commonOptions; });
      default = { };
    };
    allInterfaces = mkOption {
      internal = true;
      type = types.attrsOf (types.submodule { options = commonOptions; });
      default = { default = lib.mapAttrs (name: _: cfg.${name}) commonOptions; } // cfg.interfaces;
    };
  } // commonOptions;

  config = lib.mkIf cfg.enable {
    networking.firewall.trustedInterfaces = [ "lo" ];
  };
}
