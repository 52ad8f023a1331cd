# Options every NixOS module may use, from:
#   nixos/modules/misc/assertions.nix   (assertions, warnings)
#   nixos/modules/misc/version.nix      (system.stateVersion; nixos-26.05)
#   nixos/modules/system/activation/top-level.nix (system.build)
#   nixos/modules/misc/nixpkgs.nix      (nixpkgs.hostPlatform)
#   nixos/modules/config/system-path.nix (environment.systemPackages)
#   nixos/modules/hardware/all-firmware.nix (hardware.enableRedistributableFirmware)
#   nixos/modules/security/wrappers/default.nix (security.wrapperDir)
{ lib, options, config, ... }:
let
  inherit (lib) mkOption types;
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      internal = true;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      internal = true;
      default = [ ];
    };
    system.stateVersion = mkOption {
      type = types.str;
      # version.nix: the default is the evaluating release, with a warning that it is unset.
      default = "26.05";
    };
    system.build = mkOption {
      type = types.lazyAttrsOf types.unspecified;
      default = { };
    };
    # No default; the module elaborates whatever is set (lib.systems.elaborate).
    nixpkgs.hostPlatform = mkOption {
      type = types.either types.str (types.attrsOf types.anything);
      apply = lib.systems.elaborate;
    };
    environment.systemPackages = mkOption {
      type = types.listOf types.package;
      default = [ ];
    };
    hardware.enableRedistributableFirmware = mkOption {
      type = types.bool;
      default = false;
    };
    security.wrapperDir = mkOption {
      type = types.path;
      default = "/run/wrappers/bin";
    };
  };

  config.warnings = lib.optional (options.system.stateVersion.highestPrio == (lib.mkOptionDefault { }).priority) "system.stateVersion is not set; it must be the release this host was first installed with.";
}
