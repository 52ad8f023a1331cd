# nixos/modules/system/boot/loader/grub/grub.nix, .../loader/systemd-boot/systemd-boot.nix
# (configurationLimit of both read in a nixpkgs master of about July 2026, Swarsel/nixpkgs
# @ 4aa6836a; GRUB's default of 100 is the same in older revisions),
# .../loader/efi.nix, nixos/modules/system/boot/kernel.nix, nixos/modules/system/boot/stage-1.nix,
# nixos/modules/tasks/filesystems.nix and nixos/modules/config/swap.nix (nixos-26.05).
# GRUB is on by default and refuses a system with no boot device; systemd-boot turns GRUB's
# default off. Stage 1 refuses a system with no root file system.
{ config, lib, ... }:
let
  inherit (lib) mkOption types;
  grub = config.boot.loader.grub;
  efi = config.boot.loader.efi;
in
{
  options.boot = {
    isContainer = mkOption { type = types.bool; default = false; };
    loader.grub = {
      enable = mkOption { type = types.bool; default = !config.boot.isContainer; };
      device = mkOption { type = types.str; default = ""; };
      devices = mkOption { type = types.listOf types.str; default = [ ]; };
      mirroredBoots = mkOption { type = types.listOf (types.attrsOf types.anything); default = [ ]; };
      efiSupport = mkOption { type = types.bool; default = false; };
      efiInstallAsRemovable = mkOption { type = types.bool; default = false; };
      # install-grub.pl lists at most this many generations in "NixOS - All configurations".
      configurationLimit = mkOption { type = types.int; default = 100; };
    };
    loader.systemd-boot = {
      enable = mkOption { type = types.bool; default = false; };
      configurationLimit = mkOption { type = types.nullOr types.int; default = null; };
    };
    loader.efi = {
      canTouchEfiVariables = mkOption { type = types.bool; default = false; };
      efiSysMountPoint = mkOption { type = types.str; default = "/boot"; };
    };
    initrd.availableKernelModules = mkOption { type = types.listOf types.str; default = [ ]; };
    initrd.kernelModules = mkOption { type = types.listOf types.str; default = [ ]; };
    kernelModules = mkOption { type = types.listOf types.str; default = [ ]; };
    kernel.sysctl = mkOption { type = types.attrsOf (types.nullOr (types.oneOf [ types.bool types.str types.int ])); default = { }; };
    supportedFilesystems = mkOption { type = types.coercedTo (types.listOf types.str) (names: lib.genAttrs names (_: true)) (types.attrsOf types.bool); default = { }; };
    kernelPackages = mkOption { type = types.raw; default = { }; };
  };

  options.fileSystems = mkOption {
    default = { };
    type = types.attrsOf (types.submodule ({ name, ... }: {
      freeformType = types.attrsOf types.anything;
      options = {
        mountPoint = mkOption { type = types.str; default = name; };
        device = mkOption { type = types.nullOr types.str; default = null; };
        fsType = mkOption { type = types.str; default = "auto"; };
        options = mkOption { type = types.nonEmptyListOf types.str; default = [ "defaults" ]; };
      };
    }));
  };
  options.swapDevices = mkOption { type = types.listOf (types.attrsOf types.anything); default = [ ]; };

  config = lib.mkMerge [
    (lib.mkIf config.boot.loader.systemd-boot.enable {
      boot.loader.grub.enable = lib.mkDefault false;
    })
    (lib.mkIf grub.enable {
      boot.loader.grub.devices = lib.optional (grub.device != "") grub.device;
      boot.loader.grub.mirroredBoots = lib.optionals (grub.devices != [ ]) [
        { path = "/boot"; inherit (grub) devices; inherit (efi) efiSysMountPoint; }
      ];
      assertions = [
        {
          assertion = grub.mirroredBoots != [ ];
          message = "You must set the option ‘boot.loader.grub.devices’ or 'boot.loader.grub.mirroredBoots' to make the system bootable.";
        }
        {
          assertion = grub.efiInstallAsRemovable -> grub.efiSupport;
          message = "If you wish to to use boot.loader.grub.efiInstallAsRemovable, then turn on boot.loader.grub.efiSupport";
        }
        {
          assertion = grub.efiInstallAsRemovable -> !efi.canTouchEfiVariables;
          message = "If you wish to to use boot.loader.grub.efiInstallAsRemovable, then turn off boot.loader.efi.canTouchEfiVariables";
        }
      ];
    })
    {
      assertions = [
        {
          assertion = lib.any (fs: fs.mountPoint == "/") (lib.attrValues config.fileSystems);
          message = "The ‘fileSystems’ option does not specify your root file system.";
        }
      ];
    }
  ];
}
