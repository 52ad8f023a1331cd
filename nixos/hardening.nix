# Base hardening for every node: SSH by key only, no root password login, and a
# firewall that denies by default (each service opens its own ports, on purpose).
{ config, lib, ... }:
let
  cfg = config.relaymd.hardening;
  isRoot = cfg.adminUser == "root";
in
{
  options.relaymd.hardening = {
    adminUser = lib.mkOption {
      type = lib.types.strMatching "[a-z_][a-z0-9_-]*";
      description = "The SSH user that installs and updates this host (its ssh_target user).";
    };
    sshPort = lib.mkOption {
      type = lib.types.port;
      default = 22;
      description = "Port sshd listens on.";
    };
    authorizedKeys = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = ''
        Public keys allowed to log in as the admin user. The pipeline's per-deployment key
        lives in /etc/ssh/relaymd-deploy-keys/<user>, which NixOS does not manage.
      '';
    };
  };

  config = {
    services.openssh = {
      enable = true;
      ports = [ cfg.sshPort ];
      # SSH is how installs and updates arrive; everything else stays closed.
      openFirewall = true;
      # Written once by the installer (--extra-files) and left alone by every switch, unlike
      # /etc/ssh/authorized_keys.d, which NixOS regenerates from authorizedKeys below.
      authorizedKeysFiles = [ "/etc/ssh/relaymd-deploy-keys/%u" ];
      # sshd.nix adds ~/.ssh/authorized_keys by default: a key written there by anyone who gets
      # the user's shell would outlive every switch. Keys come from this configuration only.
      authorizedKeysInHomedir = false;
      # One host key, so the known_hosts entry the deployment pins covers every key sshd offers.
      hostKeys = [
        {
          type = "ed25519";
          path = "/etc/ssh/ssh_host_ed25519_key";
        }
      ];
      settings = {
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        AuthenticationMethods = "publickey";
        # Root never logs in with a password; with a key only when root is the admin user.
        PermitRootLogin = if isRoot then "prohibit-password" else "no";
      };
    };

    users.users.${cfg.adminUser} = {
      openssh.authorizedKeys.keys = cfg.authorizedKeys;
    } // lib.optionalAttrs (!isRoot) {
      isNormalUser = true;
      extraGroups = [ "wheel" ];
    };

    # The admin user has no password to type: sudo trusts wheel, and Nix accepts the
    # system closure it copies over SSH (what nixos-rebuild --target-host does).
    security.sudo.wheelNeedsPassword = false;
    # A definition replaces nix.nix's default [ "root" ]: keep root in the list.
    nix.settings.trusted-users = lib.unique [ "root" cfg.adminUser ];

    networking.firewall = {
      enable = true;
      allowPing = true;
    };

    assertions = [
      {
        assertion = config.networking.firewall.enable;
        message = "relaymd.hardening: the firewall must stay enabled (deny by default).";
      }
      {
        assertion = !config.services.openssh.settings.PasswordAuthentication;
        message = "relaymd.hardening: SSH password login must stay disabled.";
      }
    ];
  };
}
