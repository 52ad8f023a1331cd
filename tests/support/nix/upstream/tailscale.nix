# nixos/modules/services/networking/tailscale.nix, read in a nixpkgs master tree of about July
# 2026 (the fork Swarsel/nixpkgs @ 4aa6836a); the autoconnect logic is the same since PR
# #396399 (Type=notify, wait for Running, 2025-05) and PR #409924 (`up` also in Stopped,
# tailscaled-set ordered after autoconnect, 2025-05-22), so nixos-26.05 ships it.
# tailscaled, and with an authKeyFile a `tailscaled-autoconnect` unit (Type=notify) that polls
# BackendState every 0.5 s and, on each change, runs
# `tailscale up --auth-key "$(cat <authKeyFile>)<params>" <extraUpFlags>` in NeedsLogin,
# NeedsMachineAuth or Stopped, reports ready and exits once Running, and otherwise waits; a
# failing `tailscale status` ends the loop without ready. A `tailscaled-set` oneshot runs
# `tailscale set <extraSetFlags>` after tailscaled and tailscaled-autoconnect when
# extraSetFlags is non-empty. The unit file itself ships in the package (systemd.packages)
# with RuntimeDirectory=tailscale.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.tailscale;
in
{
  options.services.tailscale = {
    enable = lib.mkEnableOption "Tailscale client daemon";
    port = mkOption { type = types.port; default = 41641; };
    interfaceName = mkOption { type = types.str; default = "tailscale0"; };
    package = lib.mkPackageOption pkgs "tailscale" { };
    openFirewall = mkOption { type = types.bool; default = false; };
    useRoutingFeatures = mkOption { type = types.enum [ "none" "client" "server" "both" ]; default = "none"; };
    authKeyFile = mkOption { type = types.nullOr types.path; default = null; };
    authKeyParameters = {
      ephemeral = mkOption { type = types.nullOr types.bool; default = null; };
      preauthorized = mkOption { type = types.nullOr types.bool; default = null; };
      baseURL = mkOption { type = types.nullOr types.str; default = null; };
    };
    extraUpFlags = mkOption { type = types.listOf types.str; default = [ ]; };
    extraSetFlags = mkOption { type = types.listOf types.str; default = [ ]; };
    extraDaemonFlags = mkOption { type = types.listOf types.str; default = [ ]; };
    disableTaildrop = mkOption { type = types.bool; default = false; };
    disableUpstreamLogging = mkOption { type = types.bool; default = false; };
  };

  config = lib.mkIf cfg.enable {
    environment.systemPackages = [ cfg.package ];
    systemd.packages = [ cfg.package ];
    systemd.services.tailscaled = {
      wantedBy = [ "multi-user.target" ];
      serviceConfig.Environment = [
        "PORT=${toString cfg.port}"
        ''"FLAGS=--tun ${lib.escapeShellArg cfg.interfaceName} ${lib.concatStringsSep " " cfg.extraDaemonFlags}"''
      ];
      stopIfChanged = false;
    };
    systemd.services.tailscaled-autoconnect = lib.mkIf (cfg.authKeyFile != null) {
      after = [ "tailscaled.service" ];
      wants = [ "tailscaled.service" ];
      wantedBy = [ "multi-user.target" ];
      serviceConfig.Type = "notify";
      path = [ cfg.package pkgs.jq ];
      enableStrictShellChecks = true;
      script = let
        parameters = lib.concatStringsSep "&" (lib.mapAttrsToList
          (name: value: "${name}=${if builtins.isBool value then lib.boolToString value else toString value}")
          (lib.filterAttrs (_: value: value != null) cfg.authKeyParameters));
        suffix = lib.optionalString (parameters != "") "?${parameters}";
      in ''
        state_now() {
          tailscale status --json --peers=false | jq -r '.BackendState'
        }
        last=""
        while state="$(state_now)"; do
          if [[ "$state" != "$last" ]]; then
            case "$state" in
              NeedsLogin|NeedsMachineAuth|Stopped)
                tailscale up --auth-key "$(cat ${cfg.authKeyFile})${suffix}" ${lib.escapeShellArgs cfg.extraUpFlags}
                ;;
              Running)
                systemd-notify --ready
                exit 0
                ;;
            esac
          fi
          last="$state"
          sleep .5
        done
      '';
    };
    systemd.services.tailscaled-set = lib.mkIf (cfg.extraSetFlags != [ ]) {
      after = [ "tailscaled.service" "tailscaled-autoconnect.service" ];
      wants = [ "tailscaled.service" ];
      wantedBy = [ "multi-user.target" ];
      serviceConfig.Type = "oneshot";
      script = "${lib.getExe cfg.package} set ${lib.escapeShellArgs cfg.extraSetFlags}";
    };
    boot.kernel.sysctl = lib.mkIf (cfg.useRoutingFeatures == "server" || cfg.useRoutingFeatures == "both") {
      "net.ipv4.conf.all.forwarding" = lib.mkOverride 97 true;
      "net.ipv6.conf.all.forwarding" = lib.mkOverride 97 true;
    };
    networking.firewall.allowedUDPPorts = lib.mkIf cfg.openFirewall [ cfg.port ];
    networking.firewall.checkReversePath = lib.mkIf (cfg.useRoutingFeatures == "client" || cfg.useRoutingFeatures == "both") "loose";
    networking.dhcpcd.denyInterfaces = [ cfg.interfaceName ];
    systemd.network.networks."50-tailscale" = lib.mkIf config.networking.useNetworkd {
      matchConfig.Name = cfg.interfaceName;
      linkConfig = {
        Unmanaged = true;
        ActivationPolicy = "manual";
      };
    };
  };
}
