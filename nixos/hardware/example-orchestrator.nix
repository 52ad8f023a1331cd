# Hardware of the example stack's orchestrator: an illustration only.
#
# For a real stack, replace this with the host's own file (on the host:
# `nixos-generate-config --show-hardware-config`, plus the boot.loader lines of its
# /etc/nixos/configuration.nix; see README.md here). It holds what only the machine
# knows: kernel modules for its disks, its boot loader and its file systems.
{ lib, modulesPath, ... }:
{
  imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];

  boot.initrd.availableKernelModules = [ "ahci" "xhci_pci" "nvme" "usb_storage" "sd_mod" ];
  boot.kernelModules = [ "kvm-intel" ];

  # From the host's configuration.nix: the hardware output alone has no boot loader.
  boot.loader.systemd-boot.enable = true;
  boot.loader.efi.canTouchEfiVariables = true;

  fileSystems."/" = {
    device = "/dev/disk/by-label/nixos";
    fsType = "ext4";
  };
  fileSystems."/boot" = {
    device = "/dev/disk/by-label/boot";
    fsType = "vfat";
    options = [ "fmask=0077" "dmask=0077" ];
  };
  swapDevices = [ ];

  nixpkgs.hostPlatform = lib.mkDefault "x86_64-linux";
}
