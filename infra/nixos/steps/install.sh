# install: NixOS onto a fresh relay VM with nixos-anywhere, its root-only files included.
stage_host_files() {
  # $1: root of the tree the files go under.
  local root=$1 name path content
  while read -r name path; do
    [ -n "$name" ] || continue
    content=$(host_file "$name")
    cp "$content" "$root$path"
    chmod 0600 "$root$path"
    say "staged $path (0600)"
  done <<< "$RELAYMD_HOST_FILE_PATHS"
}
say "building the disko partitioning script"
disko=$(build config.system.build.diskoScript)
say "staging root-only files for --extra-files"
extra="$work/extra"
deploy_keys="$extra/etc/ssh/relaymd-deploy-keys"
(umask 022 && mkdir -p "$extra$(dirname "$RELAYMD_SECRETS_DIR")" "$deploy_keys")
mkdir -m 0700 "$extra$RELAYMD_SECRETS_DIR"
stage_host_files "$extra"
# The deploy key's public half lets later updates in as the same user as this install;
# hardening.nix reads this directory, which NixOS does not manage, so no switch removes it.
printf '%s\n' "$RELAYMD_DEPLOY_PUBLIC_KEY" > "$deploy_keys/$ssh_user"
chmod 0644 "$deploy_keys/$ssh_user"
# The host key the program generated: sshd finds it in place and never makes its own, so the
# key every later connection checks is the one it presents.
host_key="$work/secrets/ssh-host-key"
if [ ! -f "$host_key" ]; then
  say "error: stdin carries no SSH host key for $RELAYMD_HOST; run the deployment again"
  exit 1
fi
cp "$host_key" "$extra/etc/ssh/ssh_host_ed25519_key"
chmod 0600 "$extra/etc/ssh/ssh_host_ed25519_key"
printf '%s\n' "$RELAYMD_SSH_HOST_KEY" > "$extra/etc/ssh/ssh_host_ed25519_key.pub"
chmod 0644 "$extra/etc/ssh/ssh_host_ed25519_key.pub"
say "staged /etc/ssh/ssh_host_ed25519_key (0600)"
# nixos-anywhere checks no host key itself (it reaches a fresh clone, then its own installer);
# from the installed system on, every connection checks the key staged above.
say "installing NixOS with nixos-anywhere (kexec, disko, install, reboot)"
timeout "$RELAYMD_INSTALL_TIMEOUT_SECONDS" nixos-anywhere \
  --store-paths "$disko" "$system" \
  --extra-files "$extra" \
  --phases kexec,disko,install,reboot \
  -i "$deploy_key" --ssh-port "$RELAYMD_SSH_PORT" \
  "$RELAYMD_SSH_TARGET"
say "waiting for $system to boot"
# Until the new system runs, the installer answers with another key and the check refuses it.
deadline=$((SECONDS + RELAYMD_BOOT_WAIT_SECONDS))
current_system() {
  timeout "$RELAYMD_SSH_TIMEOUT_SECONDS" ssh "${ssh_options[@]}" "$RELAYMD_SSH_TARGET" \
    readlink /run/current-system 2>/dev/null || true
}
until [ "$(current_system)" = "$system" ]; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    say "error: $RELAYMD_SSH_TARGET did not boot $system within $RELAYMD_BOOT_WAIT_SECONDS s"
    exit 1
  fi
  sleep 10
done
say "installed"
