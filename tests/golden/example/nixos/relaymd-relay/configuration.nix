# Rendered by relaymd-infra from the stack configuration: do not edit.
# Change Pulumi.<stack>.yaml (data) or nixos/*.nix (behaviour), then re-render:
#   scripts/plan --stack <stack>
# Secrets are never in this file: it names root-only files the pipeline delivers.
{ ... }:
{
  imports = [
    # Partitioning and the GRUB boot loader of a freshly installed VM.
    ../modules/disko.nix
    ../modules/proxmox-guest.nix
    ../modules/hardening.nix
    ../modules/deploy-gate.nix
    ../modules/secrets.nix
    ../modules/tailnet-node.nix
    ../modules/relay.nix
    ../modules/infisical-relay.nix
  ];

  networking.hostName = "relaymd-relay";
  system.stateVersion = "26.05";

  relaymd.hardening = {
    adminUser = "admin";
    sshPort = 22;
    authorizedKeys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGtgrslz7VGiM2OFqf1/QABHK+X2LzRwfKXv9S7+zpu alice@example.org"
    ];
  };

  relaymd.secrets = {
    directory = "/var/lib/relaymd-secrets";
    files = [ "/var/lib/relaymd-secrets/tailscale-auth-key" ];
  };

  relaymd.tailnet = {
    hostname = "relaymd-relay";
    tags = [ "tag:relaymd-relay" ];
    authKeyFile = "/var/lib/relaymd-secrets/tailscale-auth-key";
    advertiseRoutes = [ "10.100.10.0/24" ];
  };

  relaymd.deployGate.resolveNames = [ "controlplane.tailscale.com" ];

  # Built for the VM's own platform, whatever machine builds it.
  nixpkgs.hostPlatform = "x86_64-linux";

  relaymd.disk.device = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_drive-scsi0";

  relaymd.proxmoxGuest = {
    address = "10.100.10.2/24";
    gateway = "10.100.10.1";
    nameservers = [ "10.100.10.1" ];
  };

  relaymd.relay = {
    internalDomain = "internal";
    upstreamNameservers = [ "10.100.10.1" ];
    tlsPassthroughUpstream = null;
  };

  relaymd.infisicalRelay = {
    enable = false;
  };
}
