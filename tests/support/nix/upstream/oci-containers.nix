# nixos/modules/virtualisation/oci-containers.nix and nixos/modules/virtualisation/podman/default.nix
# (nixos-26.05): each container becomes the unit "<backend>-<name>", wanted by multi-user.target
# when autoStart, after network-online.target and the containers it depends on. Its
# ExecStartPre is a `pre-start` script (removes a leftover container), TimeoutStartSec 0 (no
# bound), TimeoutStopSec 120; with podman Type=notify, NotifyAccess=all, Delegate and a
# RuntimeDirectory named after the container.
# Restart differs between the revisions read, and 26.05 branched between them: PR #485421
# (merged early 2026, in the fork Yethal/nixpkgs @ a9d0962) sets "always" for autoStart
# containers, "on-failure" otherwise; a July 2026 master (Swarsel/nixpkgs @ 4aa6836a) sets
# "on-failure" for all. The earlier one is transcribed; the project's module sets its own.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  cfg = config.virtualisation.oci-containers;
  preStart = name: pkgs.writeShellApplication { name = "pre-start"; text = "podman rm -f ${name} || true"; };
  containerOptions = { name, ... }: {
    options = {
      image = mkOption { type = types.str; };
      cmd = mkOption { type = types.listOf types.str; default = [ ]; };
      environment = mkOption { type = types.attrsOf types.str; default = { }; };
      environmentFiles = mkOption { type = types.listOf types.path; default = [ ]; };
      ports = mkOption { type = types.listOf types.str; default = [ ]; };
      volumes = mkOption { type = types.listOf types.str; default = [ ]; };
      extraOptions = mkOption { type = types.listOf types.str; default = [ ]; };
      dependsOn = mkOption { type = types.listOf types.str; default = [ ]; };
      autoStart = mkOption { type = types.bool; default = true; };
      pull = mkOption { type = types.enum [ "always" "missing" "never" "newer" ]; default = "missing"; };
      serviceName = mkOption { type = types.str; default = "${cfg.backend}-${name}"; };
    };
  };
in
{
  options.virtualisation = {
    podman.enable = mkOption { type = types.bool; default = false; };
    oci-containers = {
      backend = mkOption { type = types.enum [ "podman" "docker" ]; default = "podman"; };
      containers = mkOption { type = types.attrsOf (types.submodule containerOptions); default = { }; };
    };
  };

  config = lib.mkIf (cfg.containers != { }) {
    virtualisation.podman.enable = lib.mkIf (cfg.backend == "podman") true;
    systemd.services = lib.mapAttrs' (name: container:
      lib.nameValuePair container.serviceName {
        wantedBy = lib.optional container.autoStart "multi-user.target";
        wants = [ "network-online.target" ];
        after = [ "network-online.target" ] ++ map (dependency: "${cfg.backend}-${dependency}.service") container.dependsOn;
        requires = map (dependency: "${cfg.backend}-${dependency}.service") container.dependsOn;
        environment = lib.optionalAttrs (cfg.backend == "podman") { PODMAN_SYSTEMD_UNIT = "%n"; };
        serviceConfig = {
          ExecStartPre = [ "${preStart name}/bin/pre-start" ];
          Restart = if container.autoStart then "always" else "on-failure";
          TimeoutStartSec = 0;
          TimeoutStopSec = 120;
        } // lib.optionalAttrs (cfg.backend == "podman") {
          Type = "notify";
          NotifyAccess = "all";
          Delegate = true;
          RuntimeDirectory = name;
        };
      }) cfg.containers;
  };
}
