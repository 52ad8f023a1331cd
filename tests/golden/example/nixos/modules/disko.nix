# Disk layout of a relay VM, applied by nixos-anywhere through disko.
# One GPT disk that boots under SeaBIOS and OVMF alike: a 1M BIOS boot partition for
# GRUB's core image, a 512M ESP on /boot, and ext4 for everything else.
{ config, lib, ... }:
let
  # disko pinned by release and content hash: the same text partitions the same way later.
  disko = builtins.fetchTarball {
    url = "https://github.com/nix-community/disko/archive/v1.11.0.tar.gz";
    sha256 = "13brimg7z7k9y36n4jc1pssqyw94nd8qvgfjv53z66lv4xkhin92";
  };
in
{
  imports = [ "${disko}/module.nix" ];

  options.relaymd.disk.device = lib.mkOption {
    type = lib.types.str;
    default = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi0";
    description = "The system disk the VM boots from, partitioned here and given GRUB's boot code (relays[].boot_disk_interface: scsi0 by its stable id, sata0 as /dev/sda, virtio0 as /dev/vda).";
  };

  config = {
    disko.devices.disk.main = {
      type = "disk";
      device = config.relaymd.disk.device;
      content = {
        type = "gpt";
        partitions = {
          bios = {
            size = "1M";
            type = "EF02";
            priority = 1;
          };
          esp = {
            size = "512M";
            type = "EF00";
            priority = 2;
            content = {
              type = "filesystem";
              format = "vfat";
              mountpoint = "/boot";
              # The ESP holds the kernel and initrd; nobody but root needs to read them.
              mountOptions = [ "umask=0077" ];
            };
          };
          root = {
            size = "100%";
            content = {
              type = "filesystem";
              format = "ext4";
              mountpoint = "/";
            };
          };
        };
      };
    };

    # disko adds the disk to boot.loader.grub.devices because of the EF02 partition, by the
    # name given above (disko v1.11.0 lib/types/gpt.nix).
    boot.loader.grub = {
      enable = true;
      efiSupport = true;
      # No NVRAM entries to manage on a VM: install to the removable fallback path.
      efiInstallAsRemovable = true;
    };
  };
}
