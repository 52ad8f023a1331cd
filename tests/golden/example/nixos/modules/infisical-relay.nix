# Optional Infisical Relay: routes encrypted traffic between Infisical and gateways.
# Enrolls with a one-time token read from a root-only environment file, so the token
# is never on a command line or in the store. Its ports open only when it is enabled.
{ config, lib, pkgs, ... }:
let
  cfg = config.relaymd.infisicalRelay;
in
{
  options.relaymd.infisicalRelay = {
    enable = lib.mkEnableOption "an Infisical Relay (opens TCP 8443 and 2222)";
    name = lib.mkOption {
      type = lib.types.str;
      description = "The relay's name, as created in the Infisical dashboard.";
    };
    domain = lib.mkOption {
      type = lib.types.str;
      default = "https://app.infisical.com";
      description = "The Infisical instance the relay enrolls with.";
    };
    environmentFile = lib.mkOption {
      type = lib.types.strMatching "/[^ ]+";
      description = "Root-only environment file holding the enrollment token.";
    };
    package = lib.mkPackageOption pkgs "infisical" { };
  };

  config = lib.mkIf cfg.enable {
    systemd.services.infisical-relay = {
      description = "Infisical Relay";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network-online.target" ];
      environment = {
        INFISICAL_RELAY_NAME = cfg.name;
        INFISICAL_RELAY_ENROLL_METHOD = "token";
        INFISICAL_DOMAIN = cfg.domain;
        INFISICAL_DISABLE_UPDATE_CHECK = "true";
      };
      serviceConfig = {
        Type = "notify";
        ExecStart = "${lib.getExe' cfg.package "infisical"} relay start --type=org";
        EnvironmentFile = cfg.environmentFile;
        Restart = "on-failure";
        RestartSec = "10s";
        # Enrollment keeps its long-lived access token under /etc/infisical/relays (0600).
        ConfigurationDirectory = "infisical/relays";
        ConfigurationDirectoryMode = "0700";
      };
    };

    # Gateways reach the relay over SSH tunnels (2222); the platform over TLS (8443).
    networking.firewall.allowedTCPPorts = [ 8443 2222 ];
  };
}
