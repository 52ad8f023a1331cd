"""The shell scripts the NixOS pipeline runs on the deploying machine (bash, via pulumi-command).

They are constant text: every plain per-host value arrives in the environment, and the rendered
tree and the secrets arrive on stdin as one base64 .tar.gz (``tree/...``, ``secrets/<NAME>``),
so a script never carries a secret and reads the same for every host. Secrets are unpacked
under ``umask 077`` into the work directory and only ever moved as files (tar, cp, redirection):
no value reaches an argv or the environment.
"""

from __future__ import annotations

BUILD_TIMEOUT_S = 3600
INSTALL_TIMEOUT_S = 3600
COPY_TIMEOUT_S = 3600
SWITCH_TIMEOUT_S = 1800
SSH_TIMEOUT_S = 120
BOOT_WAIT_S = 900

_PRELUDE = r"""set -euo pipefail
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
tree="$work/tree"
secrets="$work/secrets"
deploy_key="$secrets/RELAYMD_SSH_PRIVATE_KEY"
ssh_options=(-p "$RELAYMD_SSH_PORT" -o BatchMode=yes -o ConnectTimeout=30)
if [ -f "$deploy_key" ]; then
  ssh_options+=(-i "$deploy_key" -o IdentitiesOnly=yes)
fi
if [ "$RELAYMD_SSH_HOST_KEYS" = trust-on-first-use ]; then
  # A relay gets fresh host keys with every install: pin them for this run only.
  ssh_options+=(-o "UserKnownHostsFile=$work/known_hosts" -o StrictHostKeyChecking=accept-new)
fi
remote() {
  local limit=$1
  shift
  timeout "$limit" ssh "${ssh_options[@]}" "$RELAYMD_SSH_TARGET" "$@"
}
ssh_user=${RELAYMD_SSH_TARGET%%@*}
sudo=sudo
if [ "$ssh_user" = root ]; then sudo=; fi
"""

_BUILD = r"""config="$tree/$RELAYMD_HOST/configuration.nix"
if [ ! -f "$config" ]; then
  say "error: the rendered tree has no $RELAYMD_HOST/configuration.nix; render it and run again"
  exit 1
fi
say "fetching the pinned nixpkgs $RELAYMD_NIXPKGS_URL"
fetch='builtins.fetchTarball {
  url = builtins.getEnv "RELAYMD_NIXPKGS_URL";
  sha256 = builtins.getEnv "RELAYMD_NIXPKGS_SHA256";
}'
nixpkgs=$(timeout @BUILD_TIMEOUT@ nix-instantiate --eval --read-write-mode --json --expr "$fetch")
nixpkgs=${nixpkgs//\"/}
build() {
  timeout @BUILD_TIMEOUT@ nix-build '<nixpkgs/nixos>' --no-out-link \
    -I "nixpkgs=$nixpkgs" -I "nixos-config=$config" -A "$1"
}
say "building the system closure"
system=$(build config.system.build.toplevel)
say "built $system"
"""

_SECRET_FILE = r"""secret_file() {
  # $1: a name from RELAYMD_SECRET_FILES; prints the unpacked file that holds its value.
  case "$1" in
    RELAYMD_SECRET_*[!A-Z0-9_]* | RELAYMD_SECRET_) ;;
    RELAYMD_SECRET_*)
      if [ -f "$secrets/$1" ]; then
        printf '%s\n' "$secrets/$1"
        return
      fi
      say "error: stdin carries no value for $1; run the deployment again"
      exit 1
      ;;
  esac
  say "error: $1 is not a RELAYMD_SECRET_* name"
  exit 1
}
"""

_STAGE_SECRET_FILES = r"""stage_secret_files() {
  # $1: root of the tree the files go under; each line of RELAYMD_SECRET_FILES is "NAME PATH".
  local root=$1 name path value_file
  while read -r name path; do
    [ -n "$name" ] || continue
    value_file=$(secret_file "$name")
    cp "$value_file" "$root$path"
    chmod 0600 "$root$path"
    say "staged $path (0600)"
  done <<< "$RELAYMD_SECRET_FILES"
}
"""

INSTALL_SCRIPT = (
    _PRELUDE
    + _BUILD
    + _SECRET_FILE
    + _STAGE_SECRET_FILES
    + r"""say "building the disko partitioning script"
disko=$(build config.system.build.diskoScript)
say "staging root-only files for --extra-files"
extra="$work/extra"
deploy_keys="$extra/etc/ssh/relaymd-deploy-keys"
(umask 022 && mkdir -p "$extra$(dirname "$RELAYMD_SECRETS_DIR")" "$deploy_keys")
mkdir -m 0700 "$extra$RELAYMD_SECRETS_DIR"
stage_secret_files "$extra"
# The deploy key's public half lets later updates in as the same user as this install;
# hardening.nix reads this directory, which NixOS does not manage, so no switch removes it.
printf '%s\n' "$RELAYMD_DEPLOY_PUBLIC_KEY" > "$deploy_keys/$ssh_user"
chmod 0644 "$deploy_keys/$ssh_user"
say "installing NixOS with nixos-anywhere (kexec, disko, install, reboot)"
timeout @INSTALL_TIMEOUT@ nixos-anywhere \
  --store-paths "$disko" "$system" \
  --extra-files "$extra" \
  --phases kexec,disko,install,reboot \
  -i "$deploy_key" --ssh-port "$RELAYMD_SSH_PORT" \
  "$RELAYMD_SSH_TARGET"
say "waiting for $system to boot"
# The installer and the new system show different host keys; the probe only reads a path.
probe_options=("${ssh_options[@]}" -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no)
deadline=$((SECONDS + @BOOT_WAIT@))
current_system() {
  timeout @SSH_TIMEOUT@ ssh "${probe_options[@]}" "$RELAYMD_SSH_TARGET" \
    readlink /run/current-system 2>/dev/null || true
}
until [ "$(current_system)" = "$system" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "error: $RELAYMD_SSH_TARGET did not boot $system within @BOOT_WAIT@ s"
    exit 1
  fi
  sleep 10
done
say "installed"
"""
)

UPDATE_SCRIPT = (
    _PRELUDE
    + _BUILD
    + r"""say "copying the closure to $RELAYMD_SSH_TARGET"
NIX_SSHOPTS="${ssh_options[*]}" timeout @COPY_TIMEOUT@ \
  nix-copy-closure --to --use-substitutes "$RELAYMD_SSH_TARGET" "$system"
say "switching to $system"
profile=/nix/var/nix/profiles/system
remote @SWITCH_TIMEOUT@ \
  "$sudo nix-env -p $profile --set $system && $sudo $system/bin/switch-to-configuration switch"
say "switched"
"""
)

DELIVER_SECRETS_SCRIPT = (
    _PRELUDE
    + _SECRET_FILE
    + r"""say "creating $RELAYMD_SECRETS_DIR (0700 root)"
remote @SSH_TIMEOUT@ "$sudo install -d -m 0700 -o root -g root $RELAYMD_SECRETS_DIR"
while read -r name path; do
  [ -n "$name" ] || continue
  value_file=$(secret_file "$name")
  # The value travels on ssh's stdin; the remote side writes it 0600 root, then renames.
  write="umask 077 && cat > $path.new && chown root:root $path.new && chmod 0600 $path.new"
  remote @SSH_TIMEOUT@ "$sudo sh -c '$write && mv -f $path.new $path'" < "$value_file"
  say "delivered $path (0600 root)"
done <<< "$RELAYMD_SECRET_FILES"
"""
)


INSTALLED_SCRIPT = r"""set -euo pipefail
printf '==> %s: %s\n' "$RELAYMD_HOST" \
  "already installed; configuration changes reach it through the update step" >&2
"""
"""An installed relay's install step on later changes: it records the new inputs, nothing more."""


def _fill(script: str) -> str:
    values = {
        "@BUILD_TIMEOUT@": BUILD_TIMEOUT_S,
        "@INSTALL_TIMEOUT@": INSTALL_TIMEOUT_S,
        "@COPY_TIMEOUT@": COPY_TIMEOUT_S,
        "@SWITCH_TIMEOUT@": SWITCH_TIMEOUT_S,
        "@SSH_TIMEOUT@": SSH_TIMEOUT_S,
        "@BOOT_WAIT@": BOOT_WAIT_S,
    }
    for placeholder, value in values.items():
        script = script.replace(placeholder, str(value))
    return script


INSTALL_SCRIPT = _fill(INSTALL_SCRIPT)
UPDATE_SCRIPT = _fill(UPDATE_SCRIPT)
DELIVER_SECRETS_SCRIPT = _fill(DELIVER_SECRETS_SCRIPT)
