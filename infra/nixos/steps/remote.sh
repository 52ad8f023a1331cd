# Running a command on the host over SSH, as root (through sudo unless the SSH user is root).
remote() {
  local limit=$1
  shift
  timeout "$limit" ssh "${ssh_options[@]}" "$RELAYMD_SSH_TARGET" "$@"
}
# -n: never ask for a password (there is no terminal); a missing rule fails at once.
sudo="sudo -n"
if [ "$ssh_user" = root ]; then sudo=; fi
# Before anything changes on the host: can we log in, and may the SSH user use sudo?
check_access() {
  local problem code=0
  problem=$(remote "$RELAYMD_SSH_TIMEOUT_SECONDS" "${sudo:-command} true" 2>&1 < /dev/null) || code=$?
  if [ "$code" -eq 0 ]; then
    return 0
  fi
  if [ "$code" -eq 255 ]; then
    say "error: cannot log in to $RELAYMD_SSH_TARGET over SSH: ${problem:-no output};" \
      "nothing was changed (docs/operating.md, \"The SSH user\")"
  else
    say "error: $ssh_user on $RELAYMD_SSH_TARGET cannot run sudo without a password" \
      "(sudo -n true: ${problem:-no output}); nothing was changed. Every host command runs" \
      "through sudo -n: give $ssh_user passwordless sudo (NixOS: in group wheel with" \
      "security.sudo.wheelNeedsPassword = false) or deploy as root" \
      "(docs/operating.md, \"The SSH user\")"
  fi
  exit 1
}
