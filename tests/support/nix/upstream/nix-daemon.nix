# nixos/modules/config/nix.nix (nixos-26.05): nix.settings is freeform; two keys have defaults.
# A definition replaces the default list, it does not extend it: trusted-users = [ "admin" ]
# leaves root out.
{ lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
in
{
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
}
