# shellcheck shell=bash
# What a checked host reports about itself, in one SSH command (sent as `bash -c`):
#
#   bash -c "$(cat facts.sh)" facts SOCKET CMDLINE [UNIT ...]
#
# Each section is "@@relaymd-facts <name> <exit status> <bytes>", a newline, then exactly that
# many bytes of the command's output and a newline: status (`tailscale status --json`),
# listeners (`ss -Htuln`), units (`systemctl is-active tailscaled UNIT...`: one state per line,
# in that order) and, when CMDLINE is "yes", tailscaled-cmdline (its main process's command line).
set -u
export LC_ALL=C
socket=$1 cmdline=$2
shift 2
cli=(tailscale)
if [ "$socket" != - ]; then cli+=("--socket=$socket"); fi

section() {
  local name=$1 output status
  shift
  output=$("$@" 2>&1)
  status=$?
  printf '@@relaymd-facts %s %s %s\n%s\n' "$name" "$status" "${#output}" "$output"
}

tailscaled_cmdline() {
  local pid
  pid=$(systemctl show -p MainPID --value tailscaled 2> /dev/null) || return 1
  [ -n "$pid" ] && [ "$pid" != 0 ] || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline"
}

section status "${cli[@]}" status --json
section listeners ss -Htuln
section units systemctl is-active tailscaled "$@"
if [ "$cmdline" = yes ]; then section tailscaled-cmdline tailscaled_cmdline; fi
