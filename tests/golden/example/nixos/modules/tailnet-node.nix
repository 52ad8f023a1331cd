# Joins the node to the tailnet with its own tagged auth key, read from a root-only file
# by the tailscaled-autoconnect unit (only while the node is not logged in yet).
#
# The key never reaches a command line: upstream's autoconnect runs
# `tailscale up --auth-key "$(cat <file>)"` (nixos/modules/services/networking/tailscale.nix,
# nixpkgs master of July 2026, as since PR #409924), readable in /proc/<pid>/cmdline by every
# local user while it runs. Its script is replaced here (the module system's mkForce, the way
# upstream leaves a unit's script to be overridden) by the same loop with
# `--auth-key=file:<path>`, which the CLI resolves itself (tailscale cmd/tailscale/cli/up.go at
# v1.98.5: "if it begins with "file:", then it's a path to a file containing the authkey";
# since v1.16.0, commit b822b5c).
#
# Filtering: tailscaled accepts all traffic arriving on its interface in its own `ts-input`
# chain, ahead of the NixOS firewall, so the tailnet policy (ACLs) is the only filter on the
# tailnet side. Ports opened here for the tailnet interface record intent; the NixOS firewall
# filters the LAN side.
{ config, lib, pkgs, ... }:
let
  cfg = config.relaymd.tailnet;
  commaList = lib.concatStringsSep ",";
  advertisesRoutes = cfg.advertiseRoutes != [ ];
  tailscale = lib.getExe cfg.package;
  jq = lib.getExe pkgs.jq;
  runningUnit = "relaymd-tailnet-running";
  # tailscale's `up --auth-key=file:` form.
  fileAuthKeyVersion = "1.16.0";
  upstream = config.services.tailscale;
  # Upstream's loop, state for state: `up` in NeedsLogin, NeedsMachineAuth and Stopped, ready
  # once Running, otherwise wait; a failing `tailscale status` ends it without ready.
  autoconnect = ''
    previous=
    while current=$(tailscale status --json --peers=false | jq -r .BackendState); do
      if [ "$current" != "$previous" ]; then
        echo "tailscaled is $current"
        case "$current" in
          NeedsLogin | NeedsMachineAuth | Stopped)
            tailscale up --auth-key=file:${upstream.authKeyFile} ${lib.escapeShellArgs upstream.extraUpFlags}
            ;;
          Running)
            systemd-notify --ready
            exit 0
            ;;
        esac
        previous=$current
      fi
      sleep 0.5
    done
  '';
  # Bounded: a node that does not reach Running in time (revoked key, stale node holding the
  # name, no route to the control plane) fails this attempt, and every service that needs the
  # tailnet stays stopped instead of starting without it; the unit tries again later.
  waitUntilRunning = ''
    deadline=$((SECONDS + ${toString cfg.runningTimeoutSeconds}))
    state=
    while [ "$SECONDS" -lt "$deadline" ]; do
      state=$(${tailscale} status --json --peers=false 2>/dev/null | ${jq} -r '.BackendState' || true)
      if [ "$state" = Running ]; then
        echo "tailscaled is Running"
        exit 0
      fi
      sleep 1
    done
    echo "tailscaled is not Running after ${toString cfg.runningTimeoutSeconds} s (state: ''${state:-unknown})" >&2
    exit 1
  '';
in
{
  options.relaymd.tailnet = {
    hostname = lib.mkOption {
      type = lib.types.strMatching "[a-z0-9]([a-z0-9-]*[a-z0-9])?";
      description = "Tailnet (MagicDNS) name of this node; must stay stable.";
    };
    tags = lib.mkOption {
      type = lib.types.nonEmptyListOf (lib.types.strMatching "tag:[a-z0-9-]+");
      description = "ACL tags this node advertises (its auth key must carry the same tags).";
    };
    authKeyFile = lib.mkOption {
      # A string, not a path: a path value would be copied into the world-readable store.
      type = lib.types.strMatching "/[^ ]+";
      description = "Root-only file holding this node's auth key.";
    };
    advertiseRoutes = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = "Subnets this node routes for the tailnet (turns on IP forwarding).";
    };
    dependentServices = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      description = ''
        systemd services that use tailnet addresses: they start only once tailscaled is Running.
      '';
    };
    runningTimeoutSeconds = lib.mkOption {
      type = lib.types.ints.between 1 3600;
      default = 120;
      description = "How long services that need the tailnet wait for tailscaled to be Running.";
    };
    package = lib.mkOption {
      type = lib.types.package;
      default = config.services.tailscale.package;
      defaultText = lib.literalExpression "config.services.tailscale.package";
      description = "The tailscale CLI the readiness check runs.";
    };
  };

  config = {
    services.tailscale = {
      enable = true;
      authKeyFile = cfg.authKeyFile;
      extraUpFlags = [
        "--hostname=${cfg.hostname}"
        "--advertise-tags=${commaList cfg.tags}"
      ] ++ lib.optional advertisesRoutes "--advertise-routes=${commaList cfg.advertiseRoutes}";
      # The up flags apply only while the node is not logged in yet, i.e. at its first join.
      # `tailscale set` runs at every boot and switch, so later route changes (including
      # removing them all: an empty value clears them) reach a node that has already joined.
      # Name and tags of a joined node never change this way: the deployment compares them
      # after each switch and names the fix (`tailscale logout`, then switch again).
      extraSetFlags = [ "--advertise-routes=${commaList cfg.advertiseRoutes}" ];
      # "server" turns on IP forwarding, which a subnet router needs and nothing else does.
      useRoutingFeatures = if advertisesRoutes then "server" else "none";
      # UDP 41641 lets peers connect directly instead of through DERP relays.
      openFirewall = true;
    };

    # Whatever the release's tailscaled-autoconnect does (24.11's exits while tailscaled is
    # still Starting), this unit becomes active only once tailscaled is Running. It is bound to
    # tailscaled, so a tailscaled restart or crash checks again.
    systemd.services = {
      tailscaled-autoconnect.script = lib.mkForce autoconnect;
      ${runningUnit} = {
        description = "Wait until tailscaled is Running";
        after = [ "tailscaled.service" "tailscaled-autoconnect.service" ];
        wants = [ "tailscaled-autoconnect.service" ];
        # Bound: when tailscaled stops or dies this unit goes down with it, and so does every
        # service that requires it; the next start waits for Running again.
        bindsTo = [ "tailscaled.service" ];
        partOf = [ "tailscaled.service" ];
        script = waitUntilRunning;
        serviceConfig = {
          Type = "oneshot";
          RemainAfterExit = true;
          TimeoutStartSec = cfg.runningTimeoutSeconds + 30;
          # A failed wait is tried again, without limit: the tailnet may come back later.
          Restart = "on-failure";
          RestartSec = "30s";
        };
        unitConfig.StartLimitIntervalSec = 0;
      };
    } // lib.genAttrs cfg.dependentServices (_: {
      after = [ "${runningUnit}.service" ];
      requires = [ "${runningUnit}.service" ];
      # Once a later attempt succeeds, it starts them: a failed dependency is not retried.
      wantedBy = [ "${runningUnit}.service" ];
    });

    assertions = [
      {
        assertion = !(lib.hasPrefix builtins.storeDir cfg.authKeyFile);
        message = "relaymd.tailnet.authKeyFile must not be in the world-readable Nix store.";
      }
      {
        assertion = lib.versionAtLeast (lib.getVersion upstream.package) fileAuthKeyVersion;
        message = "relaymd.tailnet: tailscale ${lib.getVersion upstream.package} cannot read its auth key from a file (`--auth-key=file:` came with ${fileAuthKeyVersion}).";
      }
      {
        # A file: key is the file's whole content: there is nowhere to append ?ephemeral=... to.
        assertion = lib.all (value: value == null) (lib.attrValues upstream.authKeyParameters);
        message = "relaymd.tailnet: services.tailscale.authKeyParameters cannot be combined with --auth-key=file:; mint the key with those properties instead.";
      }
    ];
  };
}
