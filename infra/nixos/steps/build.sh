# Building the host's system closure from the rendered tree with the pinned nixpkgs.
tree="$work/tree"
config="$tree/$RELAYMD_HOST/configuration.nix"
if [ ! -f "$config" ]; then
  say "error: the rendered tree has no $RELAYMD_HOST/configuration.nix; render it and run again"
  exit 1
fi
say "fetching the pinned nixpkgs $RELAYMD_NIXPKGS_URL"
fetch='builtins.fetchTarball {
  url = builtins.getEnv "RELAYMD_NIXPKGS_URL";
  sha256 = builtins.getEnv "RELAYMD_NIXPKGS_SHA256";
}'
nixpkgs=$(timeout "$RELAYMD_BUILD_TIMEOUT_SECONDS" \
  nix-instantiate --eval --read-write-mode --json --expr "$fetch")
nixpkgs=${nixpkgs//\"/}
build() {
  timeout "$RELAYMD_BUILD_TIMEOUT_SECONDS" nix-build '<nixpkgs/nixos>' --no-out-link \
    -I "nixpkgs=$nixpkgs" -I "nixos-config=$config" -A "$1"
}
say "building the system closure"
system=$(build config.system.build.toplevel)
say "built $system"
