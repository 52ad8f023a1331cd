# nixos/modules/services/networking/dnsmasq.nix (nixos-26.05): freeform `settings`; by default
# dnsmasq also resolves the host's own queries (127.0.0.1 in networking.nameservers) and reads
# the resolv.conf that resolvconf writes for it.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.dnsmasq;
  settingValue = types.oneOf [ types.str types.int types.bool (types.listOf (types.oneOf [ types.str types.int ])) ];
in
{
  options.services.dnsmasq = {
    enable = mkOption { type = types.bool; default = false; };
    resolveLocalQueries = mkOption { type = types.bool; default = true; };
    alwaysKeepRunning = mkOption { type = types.bool; default = false; };
    settings = mkOption {
      default = { };
      type = types.submodule {
        freeformType = types.attrsOf settingValue;
        options.server = mkOption { type = types.listOf types.str; default = [ ]; };
      };
    };
  };

  config = lib.mkIf cfg.enable {
    services.dnsmasq.settings = {
      dhcp-leasefile = lib.mkDefault "/var/lib/dnsmasq/dnsmasq.leases";
      conf-file = lib.mkDefault (lib.optional cfg.resolveLocalQueries "/etc/dnsmasq-conf.conf");
      resolv-file = lib.mkDefault (lib.optional cfg.resolveLocalQueries "/etc/dnsmasq-resolv.conf");
    };
    networking.nameservers = lib.optional cfg.resolveLocalQueries "127.0.0.1";
    users.users.dnsmasq = {
      isSystemUser = true;
      group = "dnsmasq";
      description = "Dnsmasq daemon user";
    };
    users.groups.dnsmasq = { };
    systemd.services.dnsmasq = {
      description = "Dnsmasq Daemon";
      after = [ "network.target" "systemd-resolved.service" ];
      wantedBy = [ "multi-user.target" ];
      serviceConfig.Restart = if cfg.alwaysKeepRunning then "always" else "on-failure";
    };
  };
}
