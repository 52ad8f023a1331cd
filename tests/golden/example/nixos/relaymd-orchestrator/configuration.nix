# Rendered by relaymd-infra from the stack configuration: do not edit.
# Change Pulumi.<stack>.yaml (data) or nixos/*.nix (behaviour), then re-render:
#   scripts/plan --stack <stack>
# Secrets are never in this file: it names root-only files the pipeline delivers.
{ ... }:
{
  imports = [
    # The existing host's own boot loader and file systems (copied from nixos/hardware/).
    ./hardware-configuration.nix
    ../modules/hardening.nix
    ../modules/deploy-gate.nix
    ../modules/secrets.nix
    ../modules/tailnet-node.nix
    ../modules/orchestrator.nix
  ];

  networking.hostName = "relaymd-orchestrator";
  system.stateVersion = "24.11";

  relaymd.hardening = {
    adminUser = "admin";
    sshPort = 22;
    authorizedKeys = [
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHGtgrslz7VGiM2OFqf1/QABHK+X2LzRwfKXv9S7+zpu alice@example.org"
    ];
  };

  relaymd.secrets = {
    directory = "/var/lib/relaymd-secrets";
    files = [ "/var/lib/relaymd-secrets/tailscale-auth-key" "/var/lib/relaymd-secrets/orchestrator.env" ];
  };

  relaymd.tailnet = {
    hostname = "relaymd-orchestrator";
    tags = [ "tag:relaymd-orchestrator" ];
    authKeyFile = "/var/lib/relaymd-secrets/tailscale-auth-key";
    advertiseRoutes = [ ];
  };

  relaymd.deployGate.resolveNames = [ "controlplane.tailscale.com" "app.infisical.com" ];

  relaymd.orchestrator = {
    image = "ghcr.io/example-org/relaymd-orchestrator:sha-4f1c2d9";
    port = 36158;
    hostname = "relaymd-orchestrator";
    dataRoot = "/var/lib/relaymd";
    environmentFile = "/var/lib/relaymd-secrets/orchestrator.env";
    lanInterface = "eth0";
    storageProvider = "cloudflare_backblaze";
  };
}
