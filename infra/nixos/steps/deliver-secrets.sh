# secrets: the host's root-only files over SSH, each written 0600 root and renamed into place.
check_access
say "creating $RELAYMD_SECRETS_DIR (0700 root)"
remote "$RELAYMD_SSH_TIMEOUT_SECONDS" \
  "$sudo install -d -m 0700 -o root -g root $RELAYMD_SECRETS_DIR"
while read -r name path; do
  [ -n "$name" ] || continue
  content=$(host_file "$name")
  # The content travels on ssh's stdin; the remote side writes it 0600 root, then renames.
  write="umask 077 && cat > $path.new && chown root:root $path.new && chmod 0600 $path.new"
  remote "$RELAYMD_SSH_TIMEOUT_SECONDS" "$sudo sh -c '$write && mv -f $path.new $path'" \
    < "$content"
  say "delivered $path (0600 root)"
done <<< "$RELAYMD_HOST_FILE_PATHS"
