# nixos/modules/services/web-servers/nginx/default.nix (nixos-26.05): with no virtual host of
# its own a configuration gets the default `localhost` one (port 80 on every address);
# streamConfig is raw text in the `stream { }` block.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.services.nginx;
in
{
  options.services.nginx = {
    enable = mkOption { type = types.bool; default = false; };
    streamConfig = mkOption { type = types.lines; default = ""; };
    virtualHosts = mkOption {
      type = types.attrsOf (types.submodule { freeformType = types.attrsOf types.anything; });
      default = { localhost = { }; };
    };
  };

  config = lib.mkIf cfg.enable {
    users.users.nginx = {
      group = "nginx";
      isSystemUser = true;
      uid = 60;
    };
    users.groups.nginx = { };
    systemd.services.nginx = {
      description = "Nginx Web Server";
      wantedBy = [ "multi-user.target" ];
      wants = [ "network-online.target" ];
      after = [ "network.target" "network-online.target" ];
    };
  };
}
