# Whole-host evaluation: one rendered configuration.nix, evaluated by the real nixpkgs module
# system (lib.evalModules from the pinned nixpkgs lib) together with the real disko module
# (imported by the project's disko.nix) and the transcribed upstream NixOS modules in
# ./upstream. Prints what the tests check: failed assertions, warnings and evaluated values.
#
#   nix-instantiate --eval --strict --json eval_host.nix --argstr configuration FILE \
#     --arg lib 'import "${builtins.fetchTarball { url = ...; sha256 = ...; }}/lib"'
{ lib, configuration, extraModules ? [ ], packageOverrides ? { } }:
let
  # The platform the configuration names, as nixos/modules/misc/nixpkgs.nix instantiates pkgs.
  pkgs = import ./pkgs.nix { inherit lib; hostPlatform = config.nixpkgs.hostPlatform; } // packageOverrides;
  evaluated = lib.evalModules {
    modules = [ configuration { _module.args.pkgs = pkgs; } ] ++ import ./upstream ++ extraModules;
    specialArgs.modulesPath = ./modules-path;
  };
  inherit (evaluated) config options;
  # A configuration of upstream modules alone (a control) has none of the project's options.
  relaymd = config.relaymd or { };
  firewall = config.networking.firewall;
  unit = service: {
    inherit (service)
      after before wants requires bindsTo partOf wantedBy upheldBy
      environment serviceConfig unitConfig script preStart stopIfChanged startAt;
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
  bootLimits = {
    grub = config.boot.loader.grub.configurationLimit;
    systemd-boot = config.boot.loader.systemd-boot.configurationLimit;
  };
  nixGc = { inherit (config.nix.gc) automatic dates options; };
  hostPlatform = if options.nixpkgs.hostPlatform.isDefined then config.nixpkgs.hostPlatform.system else null;
  infisicalRelay =
    let relay = relaymd.infisicalRelay or { enable = false; }; in
    if relay.enable then {
      inherit (relay.package) name version;
      src = if relay.package ? src then { inherit (relay.package.src) url hash; } else null;
      checkPhase = relay.package.checkPhase or null;
    } else null;
  diskoPartitions =
    if config ? disko then
      lib.mapAttrs (_: partition: { inherit (partition) size type priority; })
        config.disko.devices.disk.main.content.partitions
    else null;
  fileSystems = lib.mapAttrs (_: fs: { inherit (fs) device fsType; }) config.fileSystems;
  deployGate = if relaymd ? deployGate then {
    inherit (relaymd.deployGate)
      script healthzPort timeoutSeconds activationTimeoutSeconds confirmTimeoutSeconds
      bootTimeoutSeconds lockWaitSeconds resolveNames keepGenerations boundSeconds;
    installed = builtins.any (package: package.name or "" == "relaymd-switch") config.environment.systemPackages;
  } else null;
  orchestratorSettings = if relaymd ? orchestrator then relaymd.orchestrator.settings else null;
  orchestratorTailnetCheck = if relaymd ? orchestrator then relaymd.orchestrator.tailnetCheckScript else null;
}
