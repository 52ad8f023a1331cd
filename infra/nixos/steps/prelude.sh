# Every step starts here (bash, via pulumi-command): strict mode, a private work directory,
# and what stdin carries, unpacked under umask 077. Plain values arrive in RELAYMD_* variables;
# secrets arrive only as files inside stdin, never in a variable or on a command line.
set -euo pipefail
umask 077
say() { printf '==> %s: %s\n' "$RELAYMD_HOST" "$*" >&2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
say "unpacking stdin (rendered tree and secrets)"
# Under umask 077 and without the archive's owner or modes, every unpacked file is 0600 and
# every directory 0700, owned by whoever runs the deployment.
base64 -d > "$work/stdin.tar.gz"
if [ ! -s "$work/stdin.tar.gz" ]; then
  say "error: stdin is empty; the deployment must pass the rendered tree and secrets on it"
  exit 1
fi
tar -xzf "$work/stdin.tar.gz" -C "$work" --no-same-owner --no-same-permissions
rm -f "$work/stdin.tar.gz"
deploy_key="$work/secrets/deploy-key"
ssh_options=(-p "$RELAYMD_SSH_PORT" -o BatchMode=yes -o ConnectTimeout=30)
if [ -f "$deploy_key" ]; then
  ssh_options+=(-i "$deploy_key" -o IdentitiesOnly=yes)
fi
if [ "$RELAYMD_SSH_HOST_KEYS" = trust-on-first-use ]; then
  # A relay gets fresh host keys with every install: pin them for this run only.
  ssh_options+=(-o "UserKnownHostsFile=$work/known_hosts" -o StrictHostKeyChecking=accept-new)
fi
ssh_user=${RELAYMD_SSH_TARGET%%@*}
