# update: copy the built closure to the host, then let the host activate it, check its own
# health, wait for this step's confirmation over a new SSH connection and only then make it
# the boot default, switching back on any failure, all in one transient unit of its own
# (see nixos/deploy-gate.nix).
check_access
say "copying the closure to $RELAYMD_SSH_TARGET"
NIX_SSHOPTS="${ssh_options[*]}" timeout "$RELAYMD_COPY_TIMEOUT_SECONDS" \
  nix-copy-closure --to --use-substitutes "$RELAYMD_SSH_TARGET" "$system"
# One name per attempt: an earlier attempt that still runs (its connection lost) cannot keep
# this one from starting; the host's lock orders them.
attempt="$(date -u +%Y%m%d%H%M%S)-$$-$RANDOM"
say "switching to $system on the host (attempt $attempt): it runs at once, and becomes the" \
  "boot default only once healthy and confirmed over a new SSH connection"
# As nixos-rebuild does: under systemd-run --wait the activation is a unit of its own, so a
# dropped connection or this step's timeout cannot kill it (or the switch back) half-way.
transient=(
  systemd-run -E LOCALE_ARCHIVE -E NIXOS_INSTALL_BOOTLOADER --collect --no-ask-password
  --pipe --quiet --service-type=exec "--unit=relaymd-switch-$attempt" --wait
)
# The host's output arrives line by line; a line of this step's own, which the host cannot
# know in advance, ends it with the connection's exit status.
marker="relaymd-update-status-$RANDOM$RANDOM$RANDOM"
status=
failure=
confirmed=
while IFS= read -r line; do
  case "$line" in
    "$marker "*)
      status=${line#"$marker "}
      continue
      ;;
  esac
  printf '%s\n' "$line" >&2
  case "$line" in
    "health check failed: "*)
      if [ -z "$failure" ]; then failure=${line#health check failed: }; fi
      ;;
    "awaiting confirmation: $attempt")
      # A NEW connection (ssh_options forbid multiplexing), the pinned host key, the same
      # login and sudo: what the next deployment and the operator will need.
      if remote "$RELAYMD_SSH_TIMEOUT_SECONDS" \
        "$sudo $system/sw/bin/relaymd-switch --confirm $attempt" < /dev/null >&2; then
        confirmed=yes
      else
        say "error: no new SSH connection to $RELAYMD_SSH_TARGET could confirm $system;" \
          "the host switches back by itself"
      fi
      ;;
  esac
done < <(
  code=0
  remote "$RELAYMD_SWITCH_TIMEOUT_SECONDS" \
    "$sudo ${transient[*]} $system/sw/bin/relaymd-switch $system $attempt" 2>&1 || code=$?
  printf '%s %s\n' "$marker" "$code"
)
if [ "$status" = 0 ]; then
  say "switched; the host confirmed its health and $system is its boot default"
  exit 0
fi
if [ -n "$failure" ]; then
  say "error: $RELAYMD_HOST is not healthy on $system: $failure;" \
    "it switched back to its previous system"
elif [ -n "$confirmed" ]; then
  say "error: $RELAYMD_HOST did not report back after confirming $system (a lost connection" \
    "or a timeout after $RELAYMD_SWITCH_TIMEOUT_SECONDS s); it keeps $system unless making it" \
    "the boot default failed; run the deployment again to see which"
else
  say "error: $RELAYMD_HOST did not report back (a lost connection or a timeout after" \
    "$RELAYMD_SWITCH_TIMEOUT_SECONDS s) and $system was never confirmed, so the host switches" \
    "back by itself; run the deployment again"
fi
exit 1
