# The deployment's switch, run ON THE HOST in a transient systemd unit of its own (a new name
# per attempt, `systemd-run --wait`, as nixos-rebuild runs switch-to-configuration), so a
# dropped SSH connection can kill neither the activation nor the switch back:
#   1. activate the new system with `switch-to-configuration test`: it runs now, but the boot
#      loader and the system profile still name the system that ran before, so a reboot at any
#      point before step 4 comes back to that one;
#   2. within a bounded time: tailscaled Running under the intended tailnet name and tags, every
#      name in resolveNames resolving, and (orchestrator) /healthz on each tailnet address
#      (IPv4 and IPv6) reporting RelayMD's tailnet connected without a tailnet warning;
#   3. print "awaiting confirmation: <attempt>" and wait, bounded, until the deployment removes
#      the canary over a NEW SSH connection (`relaymd-switch --confirm <attempt>`, as deploy-rs
#      confirms: serokell/deploy-rs src/deploy.rs confirm_profile, src/bin/activate.rs
#      activation_confirmation). That proves the LAN route, sshd, the key and sudo still work;
#   4. only then set the system profile and run `switch-to-configuration boot`, which makes
#      this system GRUB's or systemd-boot's default (NixOS switch-to-configuration-ng: `boot`
#      installs the boot loader for the toplevel it is run from and activates nothing);
#   5. on any failure, activate the previous system again (and restore the boot default if step
#      4 had begun), exit non-zero and name what failed.
# Every step has its own bound, so the whole attempt has one (boundSeconds); a later attempt
# waits for a running one at most lockWaitSeconds.
#
# The script ships in the system it deploys (`relaymd-switch`), with this host's values in it.
# The deployment confirms with the new system's copy: `relaymd-switch --confirm <attempt>`.
{ config, lib, pkgs, ... }:
let
  cfg = config.relaymd.deployGate;
  tailnet = config.relaymd.tailnet;
  intendedTags = lib.concatStringsSep "," (lib.sort lib.lessThan tailnet.tags);
  seconds = value: toString value;
  # `timeout` sends TERM at the bound and KILL this much later (coreutils timeout --kill-after).
  killAfter = 30;
  # Setting the profile takes the store's locks: a running garbage collection can hold them.
  profileTimeout = 60;
  # One more round of checks may start just before the health deadline: at most tailscale
  # status, every name lookup and two /healthz requests.
  lastRound = 10 + 10 * builtins.length cfg.resolveNames + 2 * 15;
  boundSeconds = cfg.lockWaitSeconds
    + 2 * (cfg.activationTimeoutSeconds + killAfter)
    + cfg.timeoutSeconds + lastRound
    + cfg.confirmTimeoutSeconds
    + 2 * (profileTimeout + cfg.bootTimeoutSeconds + killAfter);
  # Placed inside double-quoted shell words: the quotes are escaped for the shell.
  reKey = "re-key the node (docs/operating.md, \\\"Re-keying a node\\\")";
  # RelayMD 0.2.21 src/relaymd/orchestrator/main.py: /healthz always answers 200 with
  # {status, version, warnings, tailscale}. Every warning it derives from the host's tailscaled
  # (_check_tailscale_warning) begins with "tailscale" or "Tailscale"; the others are the
  # scheduler's (services/slurm_provisioning_service.py get_runtime_scheduler_warnings, e.g.
  # "Queued jobs are waiting, but all SLURM clusters are disabled for provisioning."), which
  # describe operations, not this system, and are reported without failing the switch.
  tailnetWarnings = ''[.warnings[] | select(test("^tailscale"; "i"))]'';
  otherWarnings = ''[.warnings[] | select(test("^tailscale"; "i") | not)]'';
  healthzCheck = lib.optionalString (cfg.healthzPort != null) ''
    # Each request may run `tailscale status` twice with a 5 s timeout: wait longer than 10 s.
    # Both families: RelayMD answers IPv4 itself, IPv6 through its forwarding socket, which
    # exists only with networking.enableIPv6 (tailscale lists the node's IPv6 address anyway).
    # A failing `tailscale ip` inside `for ... in $(...)` would check nothing and pass.
    local addresses address url body others
    if ! addresses=$(tailscale ip${lib.optionalString (!config.networking.enableIPv6) " -4"}) || [ -z "$addresses" ]; then
      echo "tailscale ip lists no tailnet address to check /healthz on"
      return 1
    fi
    for address in $addresses; do
      case "$address" in
        *:*) url="http://[$address]:${seconds cfg.healthzPort}/healthz" ;;
        *) url="http://$address:${seconds cfg.healthzPort}/healthz" ;;
      esac
      if ! body=$(curl --silent --show-error --max-time 15 "$url" 2>&1); then
        echo "GET $url failed: $body"
        return 1
      fi
      if ! jq -e '.status == "ok" and .tailscale.connected == true and ${tailnetWarnings} == []' <<< "$body" > /dev/null 2>&1; then
        echo "GET $url is not healthy: $(jq -c '{status, connected: .tailscale.connected, tailnet_warnings: ${tailnetWarnings}}' <<< "$body" 2> /dev/null || echo "$body" | head -c 300)"
        return 1
      fi
      others=$(jq -r '${otherWarnings} | join("; ")' <<< "$body")
      if [ -n "$others" ]; then
        complain "note: RelayMD reports warnings that are not about this system, not judged: $others"
      fi
    done
  '';
  resolveCheck = lib.concatMapStrings (name: ''
    if ! timeout 10 getent ahosts ${lib.escapeShellArg name} > /dev/null 2>&1; then
      echo "the host cannot resolve ${name} (getent ahosts)"
      return 1
    fi
  '') cfg.resolveNames;
  script = ''
    state=''${RELAYMD_SWITCH_STATE:-/run/relaymd-switch}
    profile=/nix/var/nix/profiles/system

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
    valid_attempt() {
      case "$1" in
        "" | *[!a-z0-9-]*) return 1 ;;
      esac
    }

    # Run over the deployment's new SSH connection: removing the canary is the confirmation.
    if [ "''${1:-}" = --confirm ]; then
      attempt=''${2:-}
      if ! valid_attempt "$attempt"; then
        complain "usage: relaymd-switch --confirm <attempt> (a-z, 0-9 and -)"
        exit 2
      fi
      if rm "$state/confirm-$attempt" 2> /dev/null; then
        say "confirmed $attempt"
        exit 0
      fi
      complain "no switch awaits confirmation $attempt: it never asked, or its ${seconds cfg.confirmTimeoutSeconds} s passed and it switched back"
      exit 1
    fi

    new_system=''${1:?usage: relaymd-switch <system> <attempt>}
    attempt=''${2:-}
    if ! valid_attempt "$attempt"; then
      complain "usage: relaymd-switch <system> <attempt> (a-z, 0-9 and -)"
      exit 2
    fi
    # /run/relaymd-switch itself (its parent exists): root's alone.
    mkdir -p "$state"
    chmod 0700 "$state"
    exec 9> "$state/lock"
    if ! flock -w ${seconds cfg.lockWaitSeconds} 9; then
      complain "health check failed: another switch still runs on this host after ${seconds cfg.lockWaitSeconds} s (each ends on its own within ${seconds boundSeconds} s); nothing was changed"
      exit 1
    fi
    previous=$(readlink -f /run/current-system)
    boot_default=$(readlink -f "$profile")

    # `test`: activate without touching the boot loader or the profile.
    activate() {
      timeout --kill-after=${seconds killAfter} ${seconds cfg.activationTimeoutSeconds} "$1/bin/switch-to-configuration" test 2>&1 | pass_on
    }
    activation_failure() {
      case "$1" in
        124 | 137) echo "switch-to-configuration test did not finish within ${seconds cfg.activationTimeoutSeconds} s" ;;
        100) echo "switch-to-configuration test exited 100: this system needs a reboot to run (its init interface changed), which the gate cannot judge" ;;
        *) echo "switch-to-configuration test failed (exit $1)" ;;
      esac
    }
    # `boot`: the profile and the boot loader's default name this system; nothing is activated.
    make_default() {
      { timeout ${seconds profileTimeout} nix-env -p "$profile" --set "$1" && timeout --kill-after=${seconds killAfter} ${seconds cfg.bootTimeoutSeconds} "$1/bin/switch-to-configuration" boot; } 2>&1 | pass_on
    }

    # Prints what is wrong. Status 1: may still settle; status 2: waiting will not help.
    check_once() {
      local status state name tags
      if ! status=$(timeout 10 tailscale status --json --peers=false 2> /dev/null); then
        echo "tailscaled does not answer (tailscale status failed)"
        return 1
      fi
      state=$(jq -r '.BackendState' <<< "$status")
      case "$state" in
        Running) ;;
        NeedsLogin | NeedsMachineAuth)
          echo "tailscaled is $state, not Running: if the node's auth key is spent or expired, ${reKey}"
          return 1
          ;;
        *)
          echo "tailscaled is $state, not Running"
          return 1
          ;;
      esac
      name=$(jq -r '.Self.DNSName // "" | split(".")[0]' <<< "$status")
      if [ "$name" != ${lib.escapeShellArg tailnet.hostname} ]; then
        echo "the node's tailnet name is ''${name:-unset}, not ${tailnet.hostname}: a node keeps the name it joined with; ${reKey}"
        return 2
      fi
      tags=$(jq -r '.Self.Tags // [] | sort | join(",")' <<< "$status")
      if [ "$tags" != ${lib.escapeShellArg intendedTags} ]; then
        echo "the node's tags are ''${tags:-none}, not ${intendedTags}: a node keeps the tags it joined with; ${reKey}"
        return 2
      fi
    ${resolveCheck}
    ${healthzCheck}
    }

    wait_until_healthy() {
      local deadline=$((SECONDS + ${seconds cfg.timeoutSeconds})) problem code
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
          echo "$problem (still after ${seconds cfg.timeoutSeconds} s)"
          return 1
        fi
        sleep 2
      done
    }

    # The canary is removed by the deployment (confirmed), or renamed here at the deadline
    # (expired); rename and removal are atomic, so exactly one of them wins.
    await_confirmation() {
      local canary="$state/confirm-$attempt" deadline=$((SECONDS + ${seconds cfg.confirmTimeoutSeconds}))
      : > "$canary"
      say "awaiting confirmation: $attempt"
      while [ -e "$canary" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
          if mv "$canary" "$canary.expired" 2> /dev/null; then
            rm -f "$canary.expired"
            return 1
          fi
          break
        fi
        sleep 1
      done
      say "confirmed over a new SSH connection"
    }

    say "switching from $previous to $new_system: it runs now and becomes the boot default only once healthy and confirmed"
    failure=
    code=0
    activate "$new_system" || code=$?
    if [ "$code" -ne 0 ]; then
      failure=$(activation_failure "$code")
    elif ! failure=$(wait_until_healthy); then
      :
    elif ! await_confirmation; then
      failure="no confirmation over a new SSH connection within ${seconds cfg.confirmTimeoutSeconds} s"
    else
      code=0
      make_default "$new_system" || code=$?
      if [ "$code" -eq 0 ]; then
        say "healthy: tailscaled Running as ${tailnet.hostname} with ${intendedTags}${lib.optionalString (cfg.resolveNames != [ ]) ", ${lib.concatStringsSep " " cfg.resolveNames} resolving"}${lib.optionalString (cfg.healthzPort != null) ", /healthz connected without a tailnet warning"}; confirmed; $new_system is the boot default"
        exit 0
      fi
      failure="making $new_system the boot default failed (exit $code)"
    fi
    complain "health check failed: $failure"
    if [ "$(readlink -f "$profile")" != "$boot_default" ]; then
      complain "restoring the boot default $boot_default"
      code=0
      make_default "$boot_default" || code=$?
      if [ "$code" -ne 0 ]; then
        complain "restoring the boot default failed too (exit $code)"
      fi
    fi
    if [ "$previous" != "$new_system" ]; then
      complain "switching back to $previous"
      code=0
      activate "$previous" || code=$?
      if [ "$code" -ne 0 ]; then
        complain "switching back to $previous failed too: $(activation_failure "$code"); the boot default is still $boot_default: reboot the host to run it"
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
      description = "How long the host may take to be healthy after activating before it switches back.";
    };
    activationTimeoutSeconds = lib.mkOption {
      type = lib.types.ints.between 1 3600;
      default = 420;
      description = "Bound on `switch-to-configuration test` (units it starts included); past it the host switches back.";
    };
    confirmTimeoutSeconds = lib.mkOption {
      type = lib.types.ints.between 1 3600;
      default = 90;
      description = "How long the host waits for the deployment's confirmation over a new SSH connection.";
    };
    bootTimeoutSeconds = lib.mkOption {
      type = lib.types.ints.between 1 3600;
      default = 120;
      description = "Bound on `switch-to-configuration boot` (installing the boot loader).";
    };
    lockWaitSeconds = lib.mkOption {
      type = lib.types.ints.between 0 3600;
      default = 60;
      description = "How long a new attempt waits for one that still runs before it gives up, changing nothing.";
    };
    healthzPort = lib.mkOption {
      type = lib.types.nullOr lib.types.port;
      default = null;
      description = "Port of a RelayMD /healthz to check on each tailnet address (the orchestrator's).";
    };
    resolveNames = lib.mkOption {
      type = lib.types.listOf (lib.types.strMatching "[A-Za-z0-9.-]+");
      default = [ ];
      description = "Names the host must resolve after a switch (the services it depends on).";
    };
    keepGenerations = lib.mkOption {
      type = lib.types.ints.between 2 100;
      default = 10;
      description = "System generations the boot menu lists (and copies kernels for), newest first.";
    };
    boundSeconds = lib.mkOption {
      type = lib.types.int;
      readOnly = true;
      default = boundSeconds;
      description = "The longest one attempt can take, every step at its bound (read-only).";
    };
    script = lib.mkOption {
      type = lib.types.lines;
      readOnly = true;
      default = script;
      description = "The text of relaymd-switch (read-only; the suite runs it with stand-ins).";
    };
  };

  config = {
    environment.systemPackages = [
      (pkgs.writeShellApplication {
        name = "relaymd-switch";
        runtimeInputs = [
          config.nix.package
          config.services.tailscale.package
          pkgs.coreutils
          pkgs.curl
          pkgs.getent
          pkgs.jq
          pkgs.util-linux
        ];
        text = cfg.script;
      })
    ];

    # Every deployment adds a system generation (and each generation's kernel and initrd are
    # copied to /boot, a 512 MiB ESP on relays). The boot menu keeps the newest few (GRUB's
    # default is 100: nixos/modules/system/boot/loader/grub/grub.nix), and a weekly collection
    # removes generations older than a month, and what only they used, from the store.
    boot.loader.grub.configurationLimit = lib.mkDefault cfg.keepGenerations;
    boot.loader.systemd-boot.configurationLimit = lib.mkDefault cfg.keepGenerations;
    nix.gc = {
      automatic = lib.mkDefault true;
      dates = lib.mkDefault "weekly";
      options = lib.mkDefault "--delete-older-than 30d";
    };
  };
}
