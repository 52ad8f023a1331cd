# Optional Infisical Relay: routes encrypted traffic between Infisical and gateways.
# Enrolls with a one-time token read from a root-only environment file, never from the store.
#
# Which CLI: nixpkgs at the default pin ships infisical 0.41.90, which has no `relay` command
# (nixos/nixpkgs-pin.json), so by default the relay runs a pinned release of its own (`cli`,
# rendered from the stack's nixos.infisical_cli): the release binary fetched by its hash, the
# way nixpkgs packages infisical (pkgs/by-name/in/infisical/package.nix at NixOS/nixpkgs
# faf9837d). With `cli = null` it runs the pin's own package, which must be new enough.
#
# The token: `relay start` reads it from --token alone (Infisical/cli packages/cmd/relay.go,
# `cmd.Flags().GetString("token")`, at v0.43.87 through v0.43.121: no variable, no file), so it
# is on the CLI's command line while the relay enrolls. From v0.43.114 a start without --token
# reuses the access token the enrollment stored (0600, /etc/infisical/relays/<name>.conf), so
# the token is passed only when no enrollment with this very token is stored: the first start,
# and the first start after a new token was delivered. v0.43.87 to v0.43.113 need --token on
# every start; passing the same token again skips the enrollment (relay.go at v0.43.93, the
# stored-token comparison), so those releases get it on every start.
{ config, lib, pkgs, ... }:
let
  cfg = config.relaymd.infisicalRelay;
  infisical = lib.getExe' cfg.package "infisical";
  version = lib.getVersion cfg.package;
  # `relay start --enroll-method token` and INFISICAL_RELAY_ENROLL_METHOD: v0.43.87 (14d4c59).
  minimumVersion = "0.43.87";
  # A start without --token reuses the stored access token: v0.43.114 (0b53da4, PR #323).
  reusesStoredToken = lib.versionAtLeast version "0.43.114";
  storedConfiguration = "/etc/infisical/relays/${cfg.name}.conf";
  startWithToken = ''exec ${infisical} relay start --type=org --token="$INFISICAL_RELAY_ENROLLMENT_TOKEN"'';
  # Reads the stored keys with shell builtins only: no token reaches another command's argv.
  start =
    if reusesStoredToken then ''
      stored_token=
      stored_access=
      if [ -f ${lib.escapeShellArg storedConfiguration} ]; then
        while IFS='=' read -r key value; do
          case "$key" in
            INFISICAL_RELAY_ENROLLMENT_TOKEN) stored_token=$value ;;
            INFISICAL_RELAY_ACCESS_TOKEN) stored_access=$value ;;
          esac
        done < ${lib.escapeShellArg storedConfiguration}
      fi
      if [ -n "$stored_access" ] && [ "$stored_token" = "$INFISICAL_RELAY_ENROLLMENT_TOKEN" ]; then
        exec ${infisical} relay start --type=org
      fi
      ${startWithToken}
    '' else ''
      ${startWithToken}
    '';
  # The release archive holds the statically linked binary (Infisical/cli .goreleaser.yaml:
  # musl, -extldflags "-static"), its manual page and completions; a relay needs the binary.
  release = pkgs.stdenv.mkDerivation {
    pname = "infisical";
    inherit (cfg.cli) version;
    src = pkgs.fetchurl {
      name = baseNameOf cfg.cli.url;
      inherit (cfg.cli) url hash;
    };
    sourceRoot = ".";
    dontConfigure = true;
    dontStrip = true;
    buildPhase = "chmod +x infisical";
    doCheck = true;
    # The release stamps its version in (ldflags util.CLI_VERSION): the archive is the one named.
    checkPhase = ''./infisical --version | grep -F ${lib.escapeShellArg cfg.cli.version}'';
    installPhase = ''
      runHook preInstall
      install -D -m 0755 infisical $out/bin/infisical
      runHook postInstall
    '';
    meta.mainProgram = "infisical";
  };
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
    cli = lib.mkOption {
      type = lib.types.nullOr (lib.types.submodule {
        options = {
          version = lib.mkOption { type = lib.types.str; };
          url = lib.mkOption { type = lib.types.strMatching "https://.+"; };
          hash = lib.mkOption { type = lib.types.strMatching "sha256-[A-Za-z0-9+/]{43}="; };
        };
      });
      default = null;
      description = "An Infisical CLI release archive to run (by URL and SRI hash); null runs the pin's own infisical.";
    };
    package = lib.mkOption {
      type = lib.types.package;
      default = if cfg.cli != null then release else pkgs.infisical;
      defaultText = lib.literalExpression "the release named by cli, else pkgs.infisical";
      description = "The Infisical CLI the relay runs.";
    };
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
      # A relay that cannot reach Infisical keeps trying instead of failing for good.
      unitConfig.StartLimitIntervalSec = 0;
    };

    assertions = [
      {
        assertion = lib.versionAtLeast version minimumVersion;
        message = "relaymd.infisicalRelay: the Infisical CLI is ${version}, which has no "
          + "`relay start --enroll-method token` (it came with ${minimumVersion}). "
          + "Set nixos.infisical_cli to a release (the default), or pin a nixpkgs whose infisical is newer.";
      }
    ];

    # Gateways reach the relay over SSH tunnels (2222); the platform over TLS (8443).
    networking.firewall.allowedTCPPorts = [ 8443 2222 ];
  };
}
