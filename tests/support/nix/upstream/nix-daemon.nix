# nixos/modules/config/nix.nix (nixos-26.05): nix.settings is freeform; two keys have defaults.
# A definition replaces the default list, it does not extend it: trusted-users = [ "admin" ]
# leaves root out.
# nixos/modules/services/misc/nix-gc.nix (read in a nixpkgs master of about July 2026,
# Swarsel/nixpkgs @ 4aa6836a): off by default; when on, a oneshot `nix-gc` service runs
# `nix-collect-garbage <options>` at `dates` (default 03:15), persistent, and it requires
# nix.enable.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  gc = config.nix.gc;
in
{
  options.nix.enable = mkOption { type = types.bool; default = true; };
  options.nix.package = mkOption { type = types.package; default = pkgs.nix; };
  options.nix.settings = mkOption {
    default = { };
    type = types.submodule {
      freeformType = types.attrsOf types.anything;
      options = {
        trusted-users = mkOption { type = types.listOf types.str; default = [ "root" ]; };
        allowed-users = mkOption { type = types.listOf types.str; default = [ "*" ]; };
      };
    };
  };
  options.nix.gc = {
    automatic = mkOption { type = types.bool; default = false; };
    dates = mkOption { type = types.either types.singleLineStr (types.listOf types.str); default = [ "03:15" ]; apply = lib.toList; };
    options = mkOption { type = types.singleLineStr; default = ""; };
    persistent = mkOption { type = types.bool; default = true; };
    randomizedDelaySec = mkOption { type = types.singleLineStr; default = "0"; };
  };

  config = {
    assertions = [
      {
        assertion = gc.automatic -> config.nix.enable;
        message = "nix.gc.automatic requires nix.enable";
      }
    ];
    systemd.services.nix-gc = lib.mkIf config.nix.enable {
      description = "Nix Garbage Collector";
      script = "exec ${config.nix.package}/bin/nix-collect-garbage ${gc.options}";
      serviceConfig.Type = "oneshot";
      restartIfChanged = false;
      startAt = lib.optionals gc.automatic gc.dates;
    };
  };
}
