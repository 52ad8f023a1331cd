# shellcheck shell=bash
# Network probes a checked host runs on itself, all at once (sent as `bash -c`; NixOS hosts have
# bash, coreutils, getent, curl where the inventory says so, and the tailscale CLI, not python3):
#
#   bash -c "$(cat probe.sh)" probe TIMEOUT HTTP_TIMEOUT SOCKET KIND ARG ARG [KIND ARG ARG ...]
#
# SOCKET is tailscaled's --socket ("-": the CLI's default). Each probe is three words; one line
# per probe comes back, "<index><TAB><verdict>[<TAB><base64 detail>]", in no particular order:
#   tcp ADDRESS PORT     open | refused (a RST: the packet got through, nothing listens)
#                        | filtered (no answer before TIMEOUT: a silent drop)
#                        | unreachable (no route, or an ICMP unreachable from a router) | error
#   dns ADDRESS NAME     rcode <n> (an answer: 0 NOERROR, 3 NXDOMAIN, 5 REFUSED...) | filtered
#                        | refused (ICMP port unreachable) | unreachable | error
#   tsmp ADDRESS -       `tailscale ping --tsmp`: pong <latency> | no-peer | no-reply | error
#   icmp ADDRESS -       `tailscale ping --icmp`: the same verdicts
#   http URL FAMILY      `curl` (FAMILY 4: IPv4 only, "-": either): http <status> <base64 body>
#                        | error
#   resolve NAME -       `getent ahosts`: found <base64 "addr addr..."> | none
set -u
export LC_ALL=C
timeout=$1 http_timeout=$2 socket=$3
shift 3
work=$(mktemp -d) || exit 3
trap 'rm -rf "$work"' EXIT

encode() { head -c 65536 | base64 -w0; }

cli=(tailscale)
if [ "$socket" != - ]; then cli+=("--socket=$socket"); fi

tcp() {
  local error status
  # shellcheck disable=SC2016 # expanded by the inner bash
  error=$(timeout "$timeout" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>&1)
  status=$?
  case $status in
    0) echo open ;;
    124) echo filtered ;;
    *)
      case $error in
        *"Connection refused"*) echo refused ;;
        *"No route to host"* | *"Network is unreachable"*) echo unreachable ;;
        *) printf 'error\t%s\n' "$(printf '%s' "$error" | head -n 1 | encode)" ;;
      esac
      ;;
  esac
}

# A DNS query for NAME's A record, as printf escapes: header (id 0x5eed, recursion desired,
# one question), then each label as its length and bytes, then type A, class IN.
dns_query() {
  local query='\x5e\xed\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00' label index
  local -a labels
  IFS=. read -ra labels <<< "$1"
  for label in "${labels[@]}"; do
    [ -n "$label" ] || continue
    query+=$(printf '\\x%02x' "${#label}")
    for ((index = 0; index < ${#label}; index++)); do
      query+=$(printf '\\x%02x' "'${label:index:1}")
    done
  done
  printf '%s' "$query"'\x00\x00\x01\x00\x01'
}

dns() {
  local answer status
  # shellcheck disable=SC2016 # expanded by the inner bash
  answer=$(timeout "$timeout" bash -c \
    'exec 3<>"/dev/udp/$0/$2" && printf "$1" >&3 && head -c 4 <&3 | od -An -tx1' \
    "$1" "$(dns_query "$2")" "${RELAYMD_PROBE_DNS_PORT:-53}" 2>&1)
  status=$?
  read -r -a bytes <<< "$answer"
  if [ "$status" = 0 ] && [ "${#bytes[@]}" = 4 ] && [ "${bytes[0]}${bytes[1]}" = 5eed ]; then
    echo "rcode $((0x${bytes[3]} & 0x0f))"
    return
  fi
  case $status:$answer in
    124:*) echo filtered ;;
    *"Connection refused"*) echo refused ;;
    *"No route to host"* | *"Network is unreachable"*) echo unreachable ;;
    *) printf 'error\t%s\n' "$(printf '%s' "$answer" | head -n 1 | encode)" ;;
  esac
}

tailscale_ping() {
  local output
  output=$(timeout "$((${timeout%.*} + 10))" \
    "${cli[@]}" ping "--$1" -c 1 --timeout "${timeout}s" "$2" 2>&1)
  case $output in
    *"pong from "*) echo "pong ${output##* in }" | head -n 1 ;;
    *"no matching peer"*) echo no-peer ;;
    *"no reply"* | *"timed out"*) echo no-reply ;;
    *) printf 'error\t%s\n' "$(printf '%s' "$output" | head -n 1 | encode)" ;;
  esac
}

http() {
  local status
  local -a family=()
  if [ "$3" = 4 ]; then family=(--ipv4); fi
  # --noproxy: a proxy from the node's environment would carry the request off the tailnet.
  if status=$(curl -sS --noproxy '*' "${family[@]}" --max-time "$http_timeout" \
      -o "$work/body.$2" -w '%{http_code}' "$1" 2> "$work/error.$2"); then
    printf 'http %s\t%s\n' "$status" "$(encode < "$work/body.$2")"
  else
    printf 'error\t%s\n' "$(head -n 1 "$work/error.$2" | encode)"
  fi
}

resolve() {
  local found
  found=$(getent ahosts "$1" | while read -r address _; do echo "$address"; done | sort -u)
  if [ -n "$found" ]; then
    printf 'found\t%s\n' "$(printf '%s' "$found" | tr '\n' ' ' | encode)"
  else
    echo none
  fi
}

one() {
  case $2 in
    tcp) tcp "$3" "$4" ;;
    dns) dns "$3" "$4" ;;
    tsmp | icmp) tailscale_ping "$2" "$3" ;;
    http) http "$3" "$1" "$4" ;;
    resolve) resolve "$3" ;;
    *) printf 'error\t%s\n' "$(printf 'unknown probe %s' "$2" | encode)" ;;
  esac
}

index=0
while (($# >= 3)); do
  one "$index" "$1" "$2" "$3" > "$work/$index" &
  shift 3
  index=$((index + 1))
done
wait
for ((probe = 0; probe < index; probe++)); do
  printf '%s\t%s\n' "$probe" "$(cat "$work/$probe")"
done
