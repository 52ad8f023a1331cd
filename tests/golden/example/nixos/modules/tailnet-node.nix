# Joins the node to the tailnet with its own tagged auth key, read from a root-only file
# by the tailscaled-autoconnect unit (only while the node is not logged in yet).
{ config, lib, ... }:
let
  cfg = config.relaymd.tailnet;
  commaList = lib.concatStringsSep ",";
  advertisesRoutes = cfg.advertiseRoutes != [ ];
in
{
  options.relaymd.tailnet = {
    hostname = lib.mkOption {
      type = lib.types.strMatching "[a-z0-9]([a-z0-9-]*[a-z0-9])?";
      description = "Tailnet (MagicDNS) name of this node; must stay stable.";
    };
    tags = lib.mkOption {
      type = lib.types.nonEmptyListOf (lib.types.strMatching "tag:[a-z0-9-]+");
      description = "ACL tags this node advertises (its auth key must carry the same tags).";
    };
    authKeyFile = lib.mkOption {
      # A string, not a path: a path value would be copied into the world-readable store.
      type = lib.types.strMatching "/[^ ]+";
      description = "Root-only file holding this node's auth key.";
    };
    advertiseRoutes = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Subnets this node routes for the tailnet (turns on IP forwarding).";
    };
    dependentServices = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = ''
        systemd services that use tailnet addresses: they start after the node has joined.
      '';
    };
  };

  config = {
    services.tailscale = {
      enable = true;
      authKeyFile = cfg.authKeyFile;
      extraUpFlags = [
        "--hostname=${cfg.hostname}"
        "--advertise-tags=${commaList cfg.tags}"
      ] ++ lib.optional advertisesRoutes "--advertise-routes=${commaList cfg.advertiseRoutes}";
      # The up flags apply only while the node is not logged in yet, i.e. at its first join.
      # `tailscale set` runs at every boot and switch, so later route changes (including
      # removing them all: an empty value clears them) reach a node that has already joined.
      extraSetFlags = [ "--advertise-routes=${commaList cfg.advertiseRoutes}" ];
      # "server" turns on IP forwarding, which a subnet router needs and nothing else does.
      useRoutingFeatures = if advertisesRoutes then "server" else "none";
      # UDP 41641 lets peers connect directly instead of through DERP relays.
      openFirewall = true;
    };

    systemd.services = lib.genAttrs cfg.dependentServices (_: {
      after = [ "tailscaled-autoconnect.service" ];
      wants = [ "tailscaled-autoconnect.service" ];
    });

    assertions = [
      {
        assertion = !(lib.hasPrefix builtins.storeDir cfg.authKeyFile);
        message = "relaymd.tailnet.authKeyFile must not be in the world-readable Nix store.";
      }
    ];
  };
}
