# nixos/modules/services/networking/tailscale.nix (nixos-25.05 and later, as in nixos-26.05):
# tailscaled, and with an authKeyFile a `tailscaled-autoconnect` unit (Type=notify) that runs
# `tailscale up` only in NeedsLogin and reports ready once the state is Running; a
# `tailscaled-set` oneshot when extraSetFlags is non-empty. The unit file itself ships in the
# package (systemd.packages) with RuntimeDirectory=tailscale.
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
      # The upstream script loops on `tailscale status --json` and runs
      # `tailscale up --auth-key "$(cat <authKeyFile>)" <extraUpFlags>` in NeedsLogin only.
      script = "tailscale up --auth-key \"$(cat ${cfg.authKeyFile})\" ${lib.escapeShellArgs cfg.extraUpFlags}";
    };
    systemd.services.tailscaled-set = lib.mkIf (cfg.extraSetFlags != [ ]) {
      after = [ "tailscaled.service" ];
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
