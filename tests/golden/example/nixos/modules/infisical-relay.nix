# Optional Infisical Relay: routes encrypted traffic between Infisical and gateways.
# Enrolls with a one-time token read from a root-only environment file, never from the
# store. `relay start` accepts that token only as --token, so until the relay has enrolled
# it is on the CLI's command line (single-use, valid for an hour); every later start reads
# the stored access token instead. Its ports open only when it is enabled.
{ config, lib, pkgs, ... }:
let
  cfg = config.relaymd.infisicalRelay;
  infisical = lib.getExe' cfg.package "infisical";
  # Infisical CLI v0.43.87 to v0.43.113 fail on every restart after a token enrollment (a
  # relay restart loop); v0.43.114 fixed it.
  minimumVersion = "0.43.114";
  version = lib.getVersion cfg.package;
  storedConfiguration = "/etc/infisical/relays/${cfg.name}.conf";
  # `relay start` takes the one-time enrollment token only as --token. Pass it on the
  # first start alone: once enrolled, the CLI reuses the access token it stored (0600),
  # so the token (single-use, valid for an hour) is never on a command line again.
  start = ''
    if ${lib.getExe' pkgs.gnugrep "grep"} -qs '^INFISICAL_RELAY_ACCESS_TOKEN=' ${lib.escapeShellArg storedConfiguration}; then
      exec ${infisical} relay start --type=org
    fi
    exec ${infisical} relay start --type=org --token="$INFISICAL_RELAY_ENROLLMENT_TOKEN"
  '';
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
      # `exec` keeps the CLI as the main process, so its readiness notification counts.
      script = start;
      serviceConfig = {
        Type = "notify";
        EnvironmentFile = cfg.environmentFile;
        Restart = "on-failure";
        RestartSec = "10s";
        # Enrollment keeps its long-lived access token under /etc/infisical/relays (0600).
        ConfigurationDirectory = "infisical/relays";
        ConfigurationDirectoryMode = "0700";
      };
    };

    assertions = [
      {
        assertion = lib.versionAtLeast version minimumVersion;
        message = "relaymd.infisicalRelay: the Infisical CLI is ${version}; a relay needs at least "
          + "${minimumVersion} (earlier releases fail on every restart after enrolling). "
          + "Pin a newer nixpkgs (nixos.nixpkgs_revision and nixos.nixpkgs_sha256) or set relaymd.infisicalRelay.package.";
      }
    ];

    # Gateways reach the relay over SSH tunnels (2222); the platform over TLS (8443).
    networking.firewall.allowedTCPPorts = [ 8443 2222 ];
  };
}
