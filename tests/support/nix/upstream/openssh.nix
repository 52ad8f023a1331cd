# nixos/modules/services/networking/ssh/sshd.nix (nixos-26.05; read at a 2024-2025 revision
# of that file, whose options and config are unchanged in what is transcribed here).
# Its own defaults allow password and keyboard-interactive login and root login with a key,
# open the firewall for every port sshd listens on, and add the home directory's
# authorized_keys plus /etc/ssh/authorized_keys.d/%u to the files sshd reads.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.openssh;
  keyOptions = {
    options.openssh.authorizedKeys = {
      keys = mkOption { type = types.listOf types.singleLineStr; default = [ ]; };
      keyFiles = mkOption { type = types.listOf types.path; default = [ ]; };
    };
  };
in
{
  options.users.users = mkOption { type = types.attrsOf (types.submodule keyOptions); };

  options.services.openssh = {
    enable = mkOption { type = types.bool; default = false; };
    ports = mkOption { type = types.listOf types.port; default = [ 22 ]; };
    openFirewall = mkOption { type = types.bool; default = true; };
    authorizedKeysInHomedir = mkOption { type = types.bool; default = true; };
    authorizedKeysFiles = mkOption { type = types.listOf types.str; default = [ ]; };
    hostKeys = mkOption {
      type = types.listOf types.attrs;
      default = [
        { type = "rsa"; bits = 4096; path = "/etc/ssh/ssh_host_rsa_key"; }
        { type = "ed25519"; path = "/etc/ssh/ssh_host_ed25519_key"; }
      ];
    };
    settings = mkOption {
      default = { };
      type = types.submodule {
        freeformType = types.attrsOf (types.nullOr (types.oneOf [ types.bool types.int types.str (types.listOf types.str) ]));
        options = {
          PasswordAuthentication = mkOption { type = types.nullOr types.bool; default = true; };
          KbdInteractiveAuthentication = mkOption { type = types.nullOr types.bool; default = true; };
          PermitRootLogin = mkOption {
            type = types.nullOr (types.enum [ "yes" "without-password" "prohibit-password" "forced-commands-only" "no" ]);
            default = "prohibit-password";
          };
          X11Forwarding = mkOption { type = types.nullOr types.bool; default = false; };
          UsePAM = mkOption { type = types.nullOr types.bool; default = true; };
        };
      };
    };
  };

  config = lib.mkIf cfg.enable {
    users.users.sshd = {
      isSystemUser = true;
      group = "sshd";
      description = "SSH privilege separation user";
    };
    users.groups.sshd = { };
    # Settings differing only in case would both reach sshd_config.
    assertions = [
      (let
        duplicates = lib.filter (names: lib.length names > 1)
          (lib.attrValues (lib.groupBy lib.strings.toLower (lib.attrNames cfg.settings)));
      in {
        assertion = duplicates == [ ];
        message = "Duplicate sshd config key; does your capitalization match the option's? Duplicate keys: ${lib.concatMapStringsSep ", " (names: "(${lib.concatStringsSep ", " names})") duplicates}";
      })
    ];
    services.openssh.authorizedKeysFiles =
      lib.optional cfg.authorizedKeysInHomedir "%h/.ssh/authorized_keys"
      ++ [ "/etc/ssh/authorized_keys.d/%u" ];
    networking.firewall.allowedTCPPorts = lib.optionals cfg.openFirewall cfg.ports;
    systemd.services.sshd = {
      description = "SSH Daemon";
      wantedBy = [ "multi-user.target" ];
      after = [ "network.target" ];
      stopIfChanged = false;
      serviceConfig = {
        Restart = "always";
        Type = "simple";
      };
    };
  };
}
