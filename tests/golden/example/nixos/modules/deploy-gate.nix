# The deployment's switch, run ON THE HOST in a transient systemd unit (`systemd-run --wait`,
# as nixos-rebuild runs switch-to-configuration), so a dropped SSH connection can kill neither
# the activation nor the rollback:
#   1. set the system profile to the new system and switch to it;
#   2. confirm within a bounded time that tailscaled is Running under the intended tailnet name
#      and tags, and (orchestrator) that /healthz on each tailnet address (IPv4 and IPv6) reports
#      tailscale.connected and no warnings;
#   3. otherwise switch back to the system that ran before and exit non-zero, naming what failed.
# The script ships in the system it deploys (`relaymd-switch`), with this host's values in it.
{ config, lib, pkgs, ... }:
let
  cfg = config.relaymd.deployGate;
  tailnet = config.relaymd.tailnet;
  intendedTags = lib.concatStringsSep "," (lib.sort lib.lessThan tailnet.tags);
  healthzCheck = lib.optionalString (cfg.healthzPort != null) ''
    # RelayMD's /healthz is always 200: only its body says whether it is healthy. Each request
    # may run `tailscale status` twice with a 5 s timeout, so the client waits longer than 10 s.
    # Both families: RelayMD answers IPv4 itself, IPv6 through its forwarding socket, which
    # exists only with networking.enableIPv6 (tailscale lists the node's IPv6 address anyway).
    # A failing `tailscale ip` inside `for ... in $(...)` would check nothing and pass.
    local addresses address url body
    if ! addresses=$(tailscale ip${lib.optionalString (!config.networking.enableIPv6) " -4"}) || [ -z "$addresses" ]; then
      echo "tailscale ip lists no tailnet address to check /healthz on"
      return 1
    fi
    for address in $addresses; do
      case "$address" in
        *:*) url="http://[$address]:${toString cfg.healthzPort}/healthz" ;;
        *) url="http://$address:${toString cfg.healthzPort}/healthz" ;;
      esac
      if ! body=$(curl --silent --show-error --max-time 15 "$url" 2>&1); then
        echo "GET $url failed: $body"
        return 1
      fi
      if ! jq -e '.status == "ok" and .tailscale.connected == true and .warnings == []' <<< "$body" > /dev/null 2>&1; then
        echo "GET $url is not healthy: $(jq -c '{status, warnings, connected: .tailscale.connected}' <<< "$body" 2> /dev/null || echo "$body" | head -c 300)"
        return 1
      fi
    done
  '';
  script = ''
    new_system=$1
    profile=/nix/var/nix/profiles/system
    previous=$(readlink -f /run/current-system)
    logout_fix="a node keeps the name and tags it first joined with; run \"tailscale logout\" on the host, then switch again"

    # Under `systemd-run --pipe` the output goes into the deployment's SSH session. Once that
    # is gone every write fails (EPIPE: units ignore SIGPIPE), and under errexit a failed echo
    # would end the script before it switches back. So no write may fail the script, and the
    # activation's own output is drained by a loop that outlives the session.
    say() {
      printf '%s\n' "$*" 2> /dev/null || true
    }
    complain() {
      say "$@" >&2
    }
    pass_on() {
      local line
      while IFS= read -r line || [ -n "$line" ]; do
        say "$line"
      done
    }

    switch_to() {
      { nix-env -p "$profile" --set "$1" && "$1/bin/switch-to-configuration" switch; } 2>&1 | pass_on
    }

    # Prints what is wrong. Status 1: may still settle; status 2: waiting will not help.
    check_once() {
      local status state name tags
      if ! status=$(tailscale status --json --peers=false 2> /dev/null); then
        echo "tailscaled does not answer (tailscale status failed)"
        return 1
      fi
      state=$(jq -r '.BackendState' <<< "$status")
      if [ "$state" != Running ]; then
        echo "tailscaled is $state, not Running"
        return 1
      fi
      name=$(jq -r '.Self.DNSName // "" | split(".")[0]' <<< "$status")
      if [ "$name" != ${lib.escapeShellArg tailnet.hostname} ]; then
        echo "the node's tailnet name is ''${name:-unset}, not ${tailnet.hostname}: $logout_fix"
        return 2
      fi
      tags=$(jq -r '.Self.Tags // [] | sort | join(",")' <<< "$status")
      if [ "$tags" != ${lib.escapeShellArg intendedTags} ]; then
        echo "the node's tags are ''${tags:-none}, not ${intendedTags}: $logout_fix"
        return 2
      fi
    ${healthzCheck}
    }

    wait_until_healthy() {
      local deadline=$((SECONDS + ${toString cfg.timeoutSeconds})) problem code
      while true; do
        code=0
        problem=$(check_once) || code=$?
        if [ "$code" -eq 0 ]; then
          return 0
        fi
        if [ "$code" -eq 2 ]; then
          echo "$problem"
          return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
          echo "$problem (still after ${toString cfg.timeoutSeconds} s)"
          return 1
        fi
        sleep 2
      done
    }

    say "switching from $previous to $new_system"
    failure=
    if ! switch_to "$new_system"; then
      failure="switch-to-configuration switch failed"
    elif failure=$(wait_until_healthy); then
      failure=
    fi
    if [ -z "$failure" ]; then
      say "healthy: tailscaled Running as ${tailnet.hostname} with ${intendedTags}${lib.optionalString (cfg.healthzPort != null) ", /healthz connected without warnings"}"
      exit 0
    fi
    complain "health check failed: $failure"
    if [ "$previous" != "$new_system" ]; then
      complain "switching back to $previous"
      if ! switch_to "$previous"; then
        complain "switching back to $previous failed too"
      fi
    fi
    exit 1
  '';
in
{
  options.relaymd.deployGate = {
    timeoutSeconds = lib.mkOption {
      type = lib.types.ints.between 1 3600;
      default = 180;
      description = "How long the host may take to be healthy after a switch before it switches back.";
    };
    healthzPort = lib.mkOption {
      type = lib.types.nullOr lib.types.port;
      default = null;
      description = "Port of a RelayMD /healthz to check on each tailnet address (the orchestrator's).";
    };
    script = lib.mkOption {
      type = lib.types.lines;
      readOnly = true;
      default = script;
      description = "The text of relaymd-switch (read-only; the suite runs it with stand-ins).";
    };
  };

  config.environment.systemPackages = [
    (pkgs.writeShellApplication {
      name = "relaymd-switch";
      runtimeInputs = [
        config.nix.package
        config.services.tailscale.package
        pkgs.coreutils
        pkgs.curl
        pkgs.jq
      ];
      text = cfg.script;
    })
  ];
}
