# Every transcribed upstream module, in one list for lib.evalModules.
[
  ./base.nix
  ./boot.nix
  ./dnsmasq.nix
  ./firewall.nix
  ./networking.nix
  ./nginx.nix
  ./nix-daemon.nix
  ./oci-containers.nix
  ./openssh.nix
  ./qemu-guest-agent.nix
  ./systemd.nix
  ./tailscale.nix
  ./users.nix
]
