# nixos/lib/systemd-unit-options.nix, nixos/modules/system/boot/systemd.nix,
# nixos/modules/system/boot/systemd/tmpfiles.nix and nixos/modules/system/boot/networkd.nix
# (nixos-26.05): the unit options the project's modules and the transcribed modules set.
# Sockets: systemd-unit-options.nix `socketOptions` (listenStreams, listenDatagrams,
# socketConfig) on top of the common unit options, as systemd.nix's `systemd.sockets` declares
# them (socketOptions read at nixpkgs revision 01f31c2e, older than the pin: re-check on a bump);
# `systemd.package` is systemd.nix's `mkPackageOption pkgs "systemd"`.
{ config, lib, pkgs, ... }:
let
  inherit (lib) mkOption types;
  unitNames = mkOption { type = types.listOf types.str; default = [ ]; };
  unitOption = types.oneOf [ types.bool types.int types.str types.path (types.listOf (types.oneOf [ types.bool types.int types.str types.path ])) ];
  # systemd-unit-options.nix: sharedOptions + commonUnitOptions + stage2CommonUnitOptions.
  commonUnitOptions = {
    enable = mkOption { type = types.bool; default = true; };
    description = mkOption { type = types.str; default = ""; };
    wantedBy = unitNames;
    requiredBy = unitNames;
    upheldBy = unitNames;
    wants = unitNames;
    requires = unitNames;
    bindsTo = unitNames;
    partOf = unitNames;
    upholds = unitNames;
    conflicts = unitNames;
    after = unitNames;
    before = unitNames;
    unitConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
    restartTriggers = mkOption { type = types.listOf types.unspecified; default = [ ]; };
  };
  socketOptions = {
    options = commonUnitOptions // {
      listenStreams = mkOption { type = types.listOf types.str; default = [ ]; };
      listenDatagrams = mkOption { type = types.listOf types.str; default = [ ]; };
      socketConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
    };
  };
  serviceOptions = {
    options = commonUnitOptions // {
      environment = mkOption {
        type = types.attrsOf (types.nullOr (types.oneOf [ types.str types.path types.package ]));
        default = { };
      };
      path = mkOption { type = types.listOf (types.oneOf [ types.package types.str ]); default = [ ]; };
      script = mkOption { type = types.lines; default = ""; };
      preStart = mkOption { type = types.lines; default = ""; };
      postStart = mkOption { type = types.lines; default = ""; };
      preStop = mkOption { type = types.lines; default = ""; };
      postStop = mkOption { type = types.lines; default = ""; };
      serviceConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
      stopIfChanged = mkOption { type = types.bool; default = true; };
      restartIfChanged = mkOption { type = types.bool; default = true; };
      startAt = mkOption { type = types.either types.str (types.listOf types.str); default = [ ]; apply = lib.toList; };
      enableStrictShellChecks = mkOption { type = types.bool; default = false; };
    };
  };
in
{
  options.systemd = {
    package = mkOption { type = types.package; default = pkgs.systemd; };
    services = mkOption { type = types.attrsOf (types.submodule serviceOptions); default = { }; };
    sockets = mkOption { type = types.attrsOf (types.submodule socketOptions); default = { }; };
    packages = mkOption { type = types.listOf types.package; default = [ ]; };
    tmpfiles.rules = mkOption { type = types.listOf types.str; default = [ ]; };
    network = {
      enable = mkOption { type = types.bool; default = false; };
      networks = mkOption {
        default = { };
        type = types.attrsOf (types.submodule {
          options = {
            matchConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
            linkConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
            networkConfig = mkOption { type = types.attrsOf unitOption; default = { }; };
            address = mkOption { type = types.listOf types.str; default = [ ]; };
            gateway = mkOption { type = types.listOf types.str; default = [ ]; };
            dns = mkOption { type = types.listOf types.str; default = [ ]; };
          };
        });
      };
    };
  };

  # networkd.nix: systemd-networkd brings systemd-resolved along unless told otherwise.
  config = lib.mkIf config.systemd.network.enable {
    services.resolved.enable = lib.mkDefault true;
  };
}
