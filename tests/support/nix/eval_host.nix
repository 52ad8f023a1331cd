# Whole-host evaluation: one rendered configuration.nix, evaluated by the real nixpkgs module
# system (lib.evalModules from the pinned nixpkgs lib) together with the real disko module
# (imported by the project's disko.nix) and the transcribed upstream NixOS modules in
# ./upstream. Prints what the tests check: failed assertions, warnings and evaluated values.
#
#   nix-instantiate --eval --strict --json eval_host.nix --argstr configuration FILE \
#     --arg lib 'import "${builtins.fetchTarball { url = ...; sha256 = ...; }}/lib"'
{ lib, configuration, extraModules ? [ ] }:
let
  pkgs = import ./pkgs.nix { inherit lib; };
  evaluated = lib.evalModules {
    modules = [ configuration { _module.args.pkgs = pkgs; } ] ++ import ./upstream ++ extraModules;
    specialArgs.modulesPath = ./modules-path;
  };
  inherit (evaluated) config;
  firewall = config.networking.firewall;
  unit = service: {
    inherit (service)
      after before wants requires bindsTo partOf wantedBy upheldBy
      environment serviceConfig unitConfig script preStart stopIfChanged;
  };
  user = account: {
    inherit (account) isNormalUser isSystemUser group extraGroups home;
    keys = account.openssh.authorizedKeys.keys;
  };
in
{
  failedAssertions = map (check: check.message) (builtins.filter (check: !check.assertion) config.assertions);
  inherit (config) warnings;
  stateVersion = config.system.stateVersion;
  hostName = config.networking.hostName;
  firewall = {
    inherit (firewall) enable allowPing trustedInterfaces checkReversePath;
    interfaces = firewall.allInterfaces;
  };
  openssh = {
    inherit (config.services.openssh) enable ports openFirewall authorizedKeysFiles settings;
  };
  users = lib.mapAttrs (_: user) config.users.users;
  sudoWheelNeedsPassword = config.security.sudo.wheelNeedsPassword;
  nixSettings = { inherit (config.nix.settings) trusted-users allowed-users; };
  tailscale = {
    inherit (config.services.tailscale) enable authKeyFile extraUpFlags extraSetFlags useRoutingFeatures interfaceName;
  };
  services = lib.mapAttrs (_: unit) (lib.filterAttrs (_: service: service.enable) config.systemd.services);
  sockets = lib.mapAttrs (_: socket: {
    inherit (socket) listenStreams socketConfig wantedBy partOf requires after;
  }) (lib.filterAttrs (_: socket: socket.enable) config.systemd.sockets);
  systemdPackage = "${config.systemd.package}";
  tmpfiles = config.systemd.tmpfiles.rules;
  networks = config.systemd.network.networks;
  resolved = config.services.resolved.enable;
  nameservers = config.networking.nameservers;
  sysctl = config.boot.kernel.sysctl;
  dnsmasq = { inherit (config.services.dnsmasq) enable resolveLocalQueries settings; };
  nginx = {
    inherit (config.services.nginx) enable streamConfig;
    virtualHosts = builtins.attrNames config.services.nginx.virtualHosts;
  };
  containers = lib.mapAttrs (_: container: {
    inherit (container) image environment environmentFiles ports volumes extraOptions serviceName;
  }) config.virtualisation.oci-containers.containers;
  grub = {
    inherit (config.boot.loader.grub) enable devices efiSupport efiInstallAsRemovable;
  };
  diskoPartitions =
    if config ? disko then
      lib.mapAttrs (_: partition: { inherit (partition) size type priority; })
        config.disko.devices.disk.main.content.partitions
    else null;
  fileSystems = lib.mapAttrs (_: fs: { inherit (fs) device fsType; }) config.fileSystems;
  deployGate = {
    inherit (config.relaymd.deployGate) script healthzPort timeoutSeconds;
    installed = builtins.any (package: package.name or "" == "relaymd-switch") config.environment.systemPackages;
  };
  orchestratorSettings = if config.relaymd ? orchestrator then config.relaymd.orchestrator.settings else null;
}
