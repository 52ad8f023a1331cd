# A relay is a Proxmox VM: qemu guest drivers, the guest agent when the VM's agent
# option expects one, and the static LAN address Proxmox gave it.
{ config, lib, modulesPath, ... }:
let
  cfg = config.relaymd.proxmoxGuest;
in
{
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];

  options.relaymd.proxmoxGuest = {
    guestAgent = lib.mkOption {
      type = lib.types.bool;
      default = false;
      description = ''
        Run qemu-guest-agent. Keep equal to the VM's agent setting (relays[].guest_agent):
        Proxmox waits for an agent that is enabled on the VM but not running here.
      '';
    };
    address = lib.mkOption {
      type = lib.types.str;
      description = "LAN address with prefix length, e.g. 10.100.10.2/24.";
    };
    gateway = lib.mkOption {
      type = lib.types.str;
      description = "LAN default gateway.";
    };
    nameservers = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      description = "Resolvers the host itself uses.";
    };
  };

  config = {
    services.qemuGuest.enable = cfg.guestAgent;

    networking.useDHCP = false;
    networking.useNetworkd = true;
    networking.nameservers = cfg.nameservers;
    # The VM has one virtio NIC; its name depends on the PCI slot, its type does not.
    systemd.network.networks."10-lan" = {
      matchConfig.Type = "ether";
      address = [ cfg.address ];
      gateway = [ cfg.gateway ];
      linkConfig.RequiredForOnline = "routable";
    };
  };
}
