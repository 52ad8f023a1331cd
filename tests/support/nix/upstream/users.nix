# nixos/modules/config/users-groups.nix (read at a 25.11-era revision, as in nixos-26.05) and
# nixos/modules/security/sudo.nix (nixos-26.05).
# users-groups adds root itself and refuses a user that is neither a normal nor a system user,
# or has no group; a normal user defaults to group "users" and a home under /home.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  userOptions = { name, config, ... }: {
    options = {
      name = mkOption { type = types.str; default = name; };
      uid = mkOption { type = types.nullOr types.int; default = null; };
      isNormalUser = mkOption { type = types.bool; default = false; };
      isSystemUser = mkOption { type = types.bool; default = false; };
      group = mkOption { type = types.str; default = ""; };
      extraGroups = mkOption { type = types.listOf types.str; default = [ ]; };
      description = mkOption { type = types.str; default = ""; };
      home = mkOption { type = types.str; default = "/var/empty"; };
      createHome = mkOption { type = types.bool; default = false; };
    };
    config = lib.mkIf config.isNormalUser {
      group = lib.mkDefault "users";
      home = lib.mkDefault "/home/${config.name}";
      createHome = lib.mkDefault true;
    };
  };
in
{
  options.users.users = mkOption { type = types.attrsOf (types.submodule userOptions); default = { }; };
  options.users.groups = mkOption { type = types.attrsOf (types.submodule { freeformType = types.attrsOf types.anything; }); default = { }; };
  options.security.sudo = {
    enable = mkOption { type = types.bool; default = true; };
    wheelNeedsPassword = mkOption { type = types.bool; default = true; };
  };

  config = {
    users.users.root = {
      uid = 0;
      description = "System administrator";
      home = "/root";
      group = "root";
    };
    assertions = lib.concatLists (lib.mapAttrsToList (name: user: [
      {
        assertion = user.isNormalUser && user.uid != null -> user.uid >= 1000;
        message = "A user cannot have a users.users.${name}.uid set below 1000 and set users.users.${name}.isNormalUser.";
      }
      {
        assertion = lib.xor
          (user.isSystemUser || (user.uid != null && user.uid < 1000 && !user.isNormalUser))
          user.isNormalUser;
        message = "Exactly one of users.users.${name}.isSystemUser and users.users.${name}.isNormalUser must be set.";
      }
      {
        assertion = user.group != "";
        message = "users.users.${name}.group is unset.";
      }
    ]) config.users.users);
  };
}
