# update: copy the built closure to the host and switch to it.
say "copying the closure to $RELAYMD_SSH_TARGET"
NIX_SSHOPTS="${ssh_options[*]}" timeout "$RELAYMD_COPY_TIMEOUT_SECONDS" \
  nix-copy-closure --to --use-substitutes "$RELAYMD_SSH_TARGET" "$system"
say "switching to $system"
profile=/nix/var/nix/profiles/system
remote "$RELAYMD_SWITCH_TIMEOUT_SECONDS" \
  "$sudo nix-env -p $profile --set $system && $sudo $system/bin/switch-to-configuration switch"
say "switched"
