# The relay: answers the internal domain for the tailnet (split DNS points here) and,
# optionally, passes TLS on 443 through to an internal reverse proxy, unterminated.
#
# Who reaches them: dnsmasq binds the tailnet interface only, so the LAN never gets an answer.
# On the tailnet, the tailnet policy is the only filter (tailscaled accepts its interface's
# traffic ahead of the NixOS firewall); the NixOS firewall filters the LAN side, where 53 and
# 443 stay closed.
{ config, lib, ... }:
let
  cfg = config.relaymd.relay;
  tailnetInterface = config.services.tailscale.interfaceName;
  passthrough = cfg.tlsPassthroughUpstream != null;
  # A bare port is IPv4 only. [::]:443 is a separate IPv6-only socket (nginx's ipv6only=on
  # default), so both coexist; without it, clients on the relay's tailnet IPv6 address fail.
  # A system with IPv6 disabled keeps the IPv4 listener alone.
  passthroughListeners = [ "443" ] ++ lib.optional config.networking.enableIPv6 "[::]:443";
in
{
  options.relaymd.relay = {
    internalDomain = lib.mkOption {
      type = lib.types.str;
      default = "internal";
      description = "Domain answered for the tailnet, with all its subdomains.";
    };
    upstreamNameservers = lib.mkOption {
      type = lib.types.nonEmptyListOf lib.types.str;
      description = "LAN resolvers that know the internal domain.";
    };
    tlsPassthroughUpstream = lib.mkOption {
      type = lib.types.nullOr (lib.types.strMatching "[A-Za-z0-9.-]+:[0-9]+");
      default = null;
      description = "host:port of an internal reverse proxy receiving TLS from port 443.";
    };
  };

  config = {
    # systemd-resolved would hold port 53.
    services.resolved.enable = lib.mkForce false;

    services.dnsmasq = {
      enable = true;
      # The host keeps its own resolvers; dnsmasq serves the tailnet.
      resolveLocalQueries = false;
      settings = {
        # Only the internal domain is forwarded; with no-resolv every other name is
        # refused, so the relay is not an open resolver.
        server = map (nameserver: "/${cfg.internalDomain}/${nameserver}") cfg.upstreamNameservers;
        no-resolv = true;
        domain-needed = true;
        interface = [ tailnetInterface ];
        # tailscale0 appears after dnsmasq starts.
        bind-dynamic = true;
      };
    };

    services.nginx = lib.mkIf passthrough {
      enable = true;
      # Without any virtual host of its own, nixpkgs adds a default "localhost" one that
      # listens on port 80 of every interface: the relay only passes TLS through.
      virtualHosts = { };
      streamConfig = ''
        server {
          ${lib.concatStringsSep "\n  " (map (address: "listen ${address};") passthroughListeners)}
          proxy_pass ${cfg.tlsPassthroughUpstream};
        }
      '';
    };

    relaymd.tailnet.dependentServices = [ "dnsmasq" ] ++ lib.optional passthrough "nginx";

    # Intent only on the tailnet side (see above); these ports stay closed on the LAN.
    networking.firewall.interfaces.${tailnetInterface} = {
      allowedUDPPorts = [ 53 ];
      allowedTCPPorts = [ 53 ] ++ lib.optional passthrough 443;
    };

    assertions = [
      {
        assertion = !config.services.resolved.enable;
        message = "relaymd.relay: systemd-resolved would hold port 53 that dnsmasq answers on.";
      }
    ];
  };
}
