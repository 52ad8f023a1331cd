# The root-only files a host receives: stdin carries each one's content as
# secrets/host/<name>, and RELAYMD_HOST_FILE_PATHS says where each lands ("<name> <path>" lines).
host_file() {
  # $1: a name from RELAYMD_HOST_FILE_PATHS; prints the unpacked file that holds its content.
  case "$1" in
    "" | *[!a-z0-9-]*)
      say "error: '$1' is not a host file name (a-z, 0-9 and -)"
      exit 1
      ;;
  esac
  if [ ! -f "$work/secrets/host/$1" ]; then
    say "error: stdin carries no host file $1; run the deployment again"
    exit 1
  fi
  printf '%s\n' "$work/secrets/host/$1"
}
