# Running a command on the host over SSH, as root (through sudo unless the SSH user is root).
remote() {
  local limit=$1
  shift
  timeout "$limit" ssh "${ssh_options[@]}" "$RELAYMD_SSH_TARGET" "$@"
}
sudo=sudo
if [ "$ssh_user" = root ]; then sudo=; fi
