# The RelayMD orchestrator as an OCI container, with host networking (no published port that
# could be DNAT-ed around the firewall).
#
# Who may reach its API: on the tailnet, the tailnet policy alone. tailscaled's own `ts-input`
# chain accepts everything arriving on the tailnet interface before the NixOS firewall is
# consulted, so the firewall rule for that interface below documents intent and filters
# nothing. On the LAN and every other interface, the NixOS firewall keeps the port closed,
# which the assertions below hold to.
{ config, lib, pkgs, ... }:
let
  cfg = config.relaymd.orchestrator;
  firewall = config.networking.firewall;
  tailnetInterface = config.services.tailscale.interfaceName;
  socketDirectory = builtins.dirOf cfg.tailscaleSocket;
  configPath = "/etc/relaymd/relaymd-config.yaml";
  # JSON is valid YAML. Only non-secret keys belong here (RelayMD ignores secret ones).
  containerUnit = "podman-relaymd-orchestrator";
  # The IPv6 side of the API (see the socket below): a socket unit and the proxy it activates.
  ipv6Proxy = "relaymd-orchestrator-ipv6";
  configFile = pkgs.writeText "relaymd-config.yaml" (builtins.toJSON cfg.settings);
  # Before every start of the container, not once: RelayMD 0.2.21 (src/relaymd/orchestrator/
  # main.py, _ensure_tailscale_running) starts its own userspace tailscaled on this socket path
  # and runs `tailscale up` with the worker key under the orchestrator's name whenever the
  # daemon behind the socket is not Running. So RelayMD starts only while the host's daemon is.
  tailnetRunning = pkgs.writeShellApplication {
    name = "relaymd-orchestrator-tailnet-running";
    runtimeInputs = [ config.services.tailscale.package pkgs.jq ];
    text = cfg.tailnetCheckScript;
  };
  tailnetCheckScript = ''
    state=$(tailscale --socket=${lib.escapeShellArg cfg.tailscaleSocket} status --json --peers=false 2> /dev/null | jq -r .BackendState) || state=
    if [ "$state" != Running ]; then
      echo "not starting RelayMD: the host's tailscaled is ''${state:-not answering}, not Running" >&2
      exit 1
    fi
  '';
  inRange = port: range: range.from <= port && port <= range.to;
  opensPort = rules:
    lib.elem cfg.port (rules.allowedTCPPorts or [ ])
    || lib.any (inRange cfg.port) (rules.allowedTCPPortRanges or [ ]);
  # Any interface but the tailnet's: the LAN may also be a VLAN or a bridge, not only lanInterface.
  otherInterfaces = builtins.filter (name: name != tailnetInterface) (builtins.attrNames firewall.interfaces);
  # A trusted interface admits every port, the API's included: a bridge, a VLAN or a
  # podman interface is as much off the tailnet as lanInterface itself. Loopback is the one
  # exception: nixpkgs' firewall module trusts `lo` on every host whose firewall is on.
  allowedTrustedInterfaces = [ tailnetInterface "lo" ];
  otherTrustedInterfaces = builtins.filter (name: !(lib.elem name allowedTrustedInterfaces)) firewall.trustedInterfaces;
in
{
  options.relaymd.orchestrator = {
    image = lib.mkOption {
      type = lib.types.str;
      description = "Pinned OCI image of the orchestrator (registry/path:tag or @sha256:...).";
    };
    port = lib.mkOption {
      type = lib.types.port;
      default = 36158;
      description = "HTTP API port: the tailnet policy decides who reaches it; the NixOS firewall keeps it off every other interface.";
    };
    hostname = lib.mkOption {
      type = lib.types.str;
      description = "The orchestrator's tailnet name (RelayMD's tailscale_hostname).";
    };
    dataRoot = lib.mkOption {
      type = lib.types.strMatching "/[^ ]+";
      default = "/var/lib/relaymd";
      description = "RELAYMD_DATA_ROOT: config/, db/, logs/, state/ and tailscale/ live here.";
    };
    environmentFile = lib.mkOption {
      type = lib.types.strMatching "/[^ ]+";
      description = ''
        Root-only file with INFISICAL_TOKEN=<client_id>:<client_secret> and, for private
        docker:// images in job scripts, APPTAINER_DOCKER_USERNAME/APPTAINER_DOCKER_PASSWORD.
      '';
    };
    lanInterface = lib.mkOption {
      type = lib.types.str;
      description = "The LAN interface, on which the API port must never open.";
    };
    tailscaleSocket = lib.mkOption {
      type = lib.types.str;
      default = "/run/tailscale/tailscaled.sock";
      description = ''
        The system tailscaled's socket. RelayMD must see this daemon Running; otherwise it
        starts its own userspace tailscaled with the worker key and joins as a worker.
      '';
    };
    storageProvider = lib.mkOption {
      type = lib.types.enum [
        "purdue"
        "cloudflare_backblaze"
      ];
      default = "purdue";
      description = ''
        RelayMD's storage_provider, passed to the workers it launches; it decides which
        storage secrets workers and the CLI require from Infisical.
      '';
    };
    restartSeconds = lib.mkOption {
      type = lib.types.ints.between 1 3600;
      default = 10;
      description = "Pause before the container is started again after it stopped or failed to start.";
    };
    startTimeoutSeconds = lib.mkOption {
      type = lib.types.ints.between 1 3600;
      default = 300;
      description = "Bound on one start of the container (an image pull included).";
    };
    tailnetCheckScript = lib.mkOption {
      type = lib.types.lines;
      readOnly = true;
      default = tailnetCheckScript;
      description = "What runs before every start of the container (read-only; the suite runs it with stand-ins).";
    };
    settings = lib.mkOption {
      type = lib.types.attrsOf lib.types.anything;
      default = { };
      description = "relaymd-config.yaml keys (non-secret); the defaults below fill the rest.";
    };
  };

  config = {
    relaymd.orchestrator.settings = {
      database_url = lib.mkDefault "sqlite+aiosqlite:///${cfg.dataRoot}/db/relaymd.db";
      log_directory = lib.mkDefault "${cfg.dataRoot}/logs";
      tailscale_hostname = lib.mkDefault cfg.hostname;
      storage_provider = cfg.storageProvider;
      # Not a default: pointing elsewhere would let RelayMD join as a worker (see above).
      tailscale_socket = cfg.tailscaleSocket;
    };

    virtualisation.oci-containers = {
      backend = "podman";
      containers.relaymd-orchestrator = {
        image = cfg.image;
        environment = {
          RELAYMD_CONFIG = configPath;
          RELAYMD_DATA_ROOT = cfg.dataRoot;
          # Wider than RelayMD's loopback default so the tailnet address answers. IPv4: uvicorn
          # binds one host through asyncio's (or uvloop's) create_server, which sets IPV6_V6ONLY
          # on an AF_INET6 socket (CPython 3.11 asyncio/base_events.py), so "::" would answer
          # IPv6 only and workers dialling the tailnet IPv4 address would be refused. IPv6 is
          # answered by the forwarding socket below.
          RELAYMD_ORCHESTRATOR_HOST = "0.0.0.0";
          RELAYMD_ORCHESTRATOR_PORT = toString cfg.port;
        };
        environmentFiles = [ cfg.environmentFile ];
        volumes = [
          "${cfg.dataRoot}:${cfg.dataRoot}"
          "${configFile}:${configPath}:ro"
          # The directory, not the socket file: tailscaled recreates the socket on restart.
          # Read-only: a client still connects (a socket's write permission is not the
          # mount's), but no second tailscaled can create a socket or its state there.
          "${socketDirectory}:${socketDirectory}:ro"
        ];
        extraOptions = [ "--network=host" ];
      };
    };

    systemd.tmpfiles.rules = map (directory: "d ${directory} 0750 root root -") [
      cfg.dataRoot
      "${cfg.dataRoot}/config"
      "${cfg.dataRoot}/db"
      "${cfg.dataRoot}/logs"
      "${cfg.dataRoot}/state"
      "${cfg.dataRoot}/tailscale"
    ];

    relaymd.tailnet.dependentServices = [ containerUnit ];
    # After each switch the deployment confirms the API is healthy, or the host switches back.
    relaymd.deployGate.healthzPort = cfg.port;

    # tailscaled's unit has RuntimeDirectory=tailscale: each of its restarts replaces
    # /run/tailscale, and a running container keeps the old, empty directory mounted. Bound to
    # tailscaled, the container stops and restarts with it and always mounts the live one.
    systemd.services.${containerUnit} = {
      bindsTo = [ "tailscaled.service" ];
      partOf = [ "tailscaled.service" ];
      after = [ "tailscaled.service" ];
      # Starting tailscaled again (after a stop, not a restart) brings the container back.
      wantedBy = [ "tailscaled.service" ];
      serviceConfig = {
        ExecStartPre = lib.mkBefore [ (lib.getExe tailnetRunning) ];
        # Its own values, whatever the release's oci-containers module sets (Restart was
        # "always" for autoStart containers in January 2026, PR #485421, and "on-failure" in
        # July 2026 master): RelayMD exits when Infisical or the tailnet is not there yet, and
        # must come back every time, however often that happens at boot.
        Restart = lib.mkForce "always";
        RestartSec = "${toString cfg.restartSeconds}s";
        # Upstream sets 0 (no bound: an image pull may be slow). A bound keeps a hung start
        # from holding a switch forever; the deployment's activation bound is longer.
        TimeoutStartSec = lib.mkForce cfg.startTimeoutSeconds;
      };
      # No start limit: five quick failures at boot (Infisical unreachable) must not leave it
      # failed for good (systemd's default is 5 starts in 10 s).
      unitConfig.StartLimitIntervalSec = 0;
    };

    # The tailnet IPv6 address: an IPv6-only socket on the API port, handed by systemd to
    # systemd-socket-proxyd, which forwards each connection to RelayMD's IPv4 listener on
    # loopback (systemd-socket-proxyd(8), systemd.socket(5)). BindIPv6Only=ipv6-only keeps it
    # off IPv4, where RelayMD itself holds the port (the default follows
    # net.ipv6.bindv6only=0: dual-stack, and the bind would fail). FreeBind: the bind never
    # depends on an address being configured yet (the wildcard needs none; a ListenStream
    # narrowed to the tailnet address would). It listens only while RelayMD runs: the
    # container starts it and takes it down (PartOf), and it never starts the container,
    # whose start waits for the tailnet. RelayMD sees these clients as 127.0.0.1.
    systemd.sockets.${ipv6Proxy} = lib.mkIf config.networking.enableIPv6 {
      description = "RelayMD API on IPv6, forwarded to its IPv4 listener";
      listenStreams = [ "[::]:${toString cfg.port}" ];
      socketConfig = {
        BindIPv6Only = "ipv6-only";
        FreeBind = true;
      };
      wantedBy = [ "${containerUnit}.service" ];
      partOf = [ "${containerUnit}.service" ];
    };
    systemd.services.${ipv6Proxy} = lib.mkIf config.networking.enableIPv6 {
      description = "Forward RelayMD's IPv6 connections to its IPv4 listener";
      requires = [ "${ipv6Proxy}.socket" ];
      after = [ "${ipv6Proxy}.socket" "${containerUnit}.service" ];
      partOf = [ "${containerUnit}.service" ];
      serviceConfig = {
        ExecStart = "${config.systemd.package}/lib/systemd/systemd-socket-proxyd 127.0.0.1:${toString cfg.port}";
        DynamicUser = true;
        PrivateTmp = true;
      };
    };

    # Intent only: tailnet traffic is accepted by tailscaled before this rule is consulted (see
    # the top of this file). What keeps the port off the LAN (both families: the firewall
    # module applies one rule set to IPv4 and IPv6) are the assertions below.
    networking.firewall.interfaces.${tailnetInterface}.allowedTCPPorts = [ cfg.port ];

    assertions = [
      {
        assertion = cfg.startTimeoutSeconds < config.relaymd.deployGate.activationTimeoutSeconds;
        message = "relaymd.orchestrator.startTimeoutSeconds (${toString cfg.startTimeoutSeconds}) must be below relaymd.deployGate.activationTimeoutSeconds (${toString config.relaymd.deployGate.activationTimeoutSeconds}), or a slow start would be judged a hung switch.";
      }
      {
        assertion = cfg.lanInterface != tailnetInterface;
        message = "relaymd.orchestrator.lanInterface must not be the tailnet interface.";
      }
      {
        assertion = otherTrustedInterfaces == [ ];
        message = "relaymd.orchestrator: networking.firewall.trustedInterfaces has "
          + "${lib.concatStringsSep ", " otherTrustedInterfaces}, which admits every port, "
          + "${toString cfg.port} included, beyond the tailnet interface ${tailnetInterface}. "
          + "Trust no interface but ${tailnetInterface} (and lo, which nixpkgs' firewall trusts itself); open only the ports another one needs "
          + "with networking.firewall.interfaces.<name>.allowedTCPPorts.";
      }
      {
        assertion =
          !(opensPort firewall)
          && !(lib.any (name: opensPort firewall.interfaces.${name}) otherInterfaces);
        message = "relaymd.orchestrator: port ${toString cfg.port} is opened beyond the tailnet interface ${tailnetInterface}.";
      }
    ];
  };
}
