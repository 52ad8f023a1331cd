# A relay is a Proxmox VM: qemu guest drivers, the guest agent, and the static LAN
# address Proxmox gave it.
{ config, lib, modulesPath, ... }:
let
  cfg = config.relaymd.proxmoxGuest;
in
{
  imports = [ (modulesPath + "/profiles/qemu-guest.nix") ];

  options.relaymd.proxmoxGuest = {
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
    # Always run the agent: harmless while the VM's agent option is off (it only starts
    # when Proxmox provides its channel), and it lets that option be turned on safely,
    # since Proxmox waits for an agent it expects but that is not running.
    services.qemuGuest.enable = true;

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
