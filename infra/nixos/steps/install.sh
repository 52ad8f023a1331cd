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
say "installing NixOS with nixos-anywhere (kexec, disko, install, reboot)"
timeout "$RELAYMD_INSTALL_TIMEOUT_SECONDS" nixos-anywhere \
  --store-paths "$disko" "$system" \
  --extra-files "$extra" \
  --phases kexec,disko,install,reboot \
  -i "$deploy_key" --ssh-port "$RELAYMD_SSH_PORT" \
  "$RELAYMD_SSH_TARGET"
say "waiting for $system to boot"
# The installer and the new system show different host keys; the probe only reads a path.
probe_options=("${ssh_options[@]}" -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no)
deadline=$((SECONDS + RELAYMD_BOOT_WAIT_SECONDS))
current_system() {
  timeout "$RELAYMD_SSH_TIMEOUT_SECONDS" ssh "${probe_options[@]}" "$RELAYMD_SSH_TARGET" \
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
