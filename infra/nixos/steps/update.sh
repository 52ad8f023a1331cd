# update: copy the built closure to the host, then let the host switch, check its own health
# and switch back on failure, all in one transient unit (see nixos/deploy-gate.nix).
say "copying the closure to $RELAYMD_SSH_TARGET"
NIX_SSHOPTS="${ssh_options[*]}" timeout "$RELAYMD_COPY_TIMEOUT_SECONDS" \
  nix-copy-closure --to --use-substitutes "$RELAYMD_SSH_TARGET" "$system"
say "switching to $system on the host; it confirms its health or switches back on its own"
# As nixos-rebuild does: under systemd-run --wait the activation is a unit of its own, so a
# dropped connection or this step's timeout cannot kill it (or the rollback) half-way.
transient=(
  systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect --no-ask-password
  --pipe --quiet --service-type=exec --unit=relaymd-switch --wait
)
if ! output=$(remote "$RELAYMD_SWITCH_TIMEOUT_SECONDS" \
  "$sudo ${transient[*]} $system/sw/bin/relaymd-switch $system" 2>&1); then
  printf '%s\n' "$output" >&2
  failure=$(grep -m 1 '^health check failed: ' <<< "$output" || true)
  if [ -n "$failure" ]; then
    say "error: $RELAYMD_HOST is not healthy on $system: ${failure#health check failed: };" \
      "it switched back to its previous system"
  else
    say "error: $RELAYMD_HOST did not report back (a lost connection or a timeout after" \
      "$RELAYMD_SWITCH_TIMEOUT_SECONDS s); the switch goes on there and keeps $system" \
      "only if it proves healthy, else it switches back; run the deployment again to see which"
  fi
  exit 1
fi
printf '%s\n' "$output" >&2
say "switched; the host confirmed its health"
