"""The namespaced RelayMD topology: hosts, links, firewalls and daemons (faults: faults.py).

Built from a stack's whole render (``build/<stack>/``, or tests/support/golden.py's
``whole_render``: the committed golden copy with the repository's modules):

    underlay hub (bridge) ── u0 ── orchestrator, relay(s), worker-1, worker-2
        each node's tailscale0: a real WireGuard interface (wireguard-go) over the underlay,
        its own key, a peer and a route per node the policy lets it talk to (control.py)
    LAN hub (bridge, also the LAN's gateway, resolver and probe) ── eth0 ── orchestrator, relay(s)

Each host runs sshd with its own host key (the suite logs in through ``ip netns exec …
socat`` to the namespace's own loopback, so the ssh backend is the one staging uses, and
verify pins each key as it pins a stack's), the stand-in tailscaled (which owns tailscale0),
and what its role needs: the stand-in RelayMD API on the orchestrator, dnsmasq configured
from the rendered relay module on each relay, a MagicDNS stand-in on the first worker.
Traffic stays on loopback and inside these namespaces.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from infra.ground import hujson
from infra.verify.artifacts import inventory_from_build
from infra.verify.inventory import Inventory, inventory_from_document, overlay
from infra.verify.policy import Policy, read_policy
from tests.support.topology import control, firewall, netns
from tests.support.topology.guardian import guard
from tests.support.topology.nixos_firewall import (
    IPV6_FORWARD_UNIT,
    HostDeclarations,
    host_declarations,
)

STANDINS = Path(__file__).resolve().parent / "standins"
TAILNET = ipaddress.ip_network(firewall.CGNAT_RANGE)
TAILNET6 = ipaddress.ip_network(firewall.TAILNET_IPV6_RANGE)
UNDERLAY = ipaddress.ip_network("198.18.0.0/24")
"""The segment WireGuard runs over (RFC 2544's benchmarking range, only inside these
namespaces): one flat link, every endpoint reached directly."""
WORKER_TAG = "tag:relaymd-worker"
SCHEDULER_WARNING = "Queued jobs are waiting, but all SLURM clusters are disabled for provisioning."
"""RelayMD 0.2.21's runtime scheduler warning (services/slurm_provisioning_service.py)."""
DASHBOARD_PORT = 36159
MAGICDNS_ADDRESS = "100.100.100.100"
"""Tailscale's resolver address (tailscale v1.98.5 net/tsaddr, ``TailscaleServiceIP``); in
kernel mode tailscaled points resolv.conf at it, with the tailnet's suffix as search domain."""
INFISICAL_RELAY_UNIT = "infisical-relay"
OWN_DNSMASQ_FILES = frozenset({"dhcp-leasefile", "pid-file"})
"""Paths of the real host's dnsmasq that each topology keeps in its own directory."""
ANY_ADDRESS = "0.0.0.0"  # noqa: S104 - the Infisical Relay listens on every interface
PATH_TIMEOUT_SECONDS = 40.0
PYTHON = (sys.executable, "-I", "-S")
"""How the stand-ins run: they need only the standard library; the venv's site costs time."""
WORKER_FIREWALL = firewall.NixosFirewall(udp=(str(control.LISTEN_PORT),))


def tailnet_address(index: int) -> str:
    return str(TAILNET.network_address + (0x25_0000 + index))  # 100.101.0.x


def tailnet_address6(index: int) -> str:
    return str(TAILNET6.network_address + (0x6465_0000 + index))  # fd7a:115c:a1e0::6465:x


@dataclass
class Host:
    role: str
    hostname: str
    namespace: str
    directory: Path
    tags: tuple[str, ...] = ()
    tailnet_ip: str | None = None
    tailnet_ip6: str | None = None
    underlay_ip: str | None = None
    lan_ip: str | None = None
    declarations: HostDeclarations | None = None
    units: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    dns_label: str | None = None
    backend_state: str = "Running"
    magicdns: bool = False
    """Whether the host resolves through a MagicDNS stand-in (the probing worker does)."""
    public_key: str = ""
    host_key: str = ""
    """Its sshd's public key line, which the inventory pins."""

    def rendered(self) -> HostDeclarations:
        assert self.declarations is not None, f"{self.hostname} has no rendered configuration"
        return self.declarations

    def relaymd(self, area: str) -> Mapping[str, Any]:
        """This host's rendered ``relaymd.<area>`` settings."""
        settings: Mapping[str, Any] = self.rendered().settings["relaymd"][area]
        return settings

    @property
    def socket(self) -> Path:
        return self.directory / "tailscaled.sock"

    @property
    def units_dir(self) -> Path:
        return self.directory / "units"

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(a for a in (self.tailnet_ip, self.tailnet_ip6) if a)


def _generate(*command: str, given: str | None = None) -> str:
    result = subprocess.run(
        list(command), input=given, capture_output=True, text=True, check=True, timeout=30
    )
    return result.stdout.strip()


class Topology:
    def __init__(
        self,
        render_dir: Path,
        *,
        relays: int = 1,
        workers: int = 2,
        budget_seconds: float = 4.0,
        probe_timeout_seconds: float = 1.0,
    ) -> None:
        self.render_dir = render_dir
        self.relay_count = relays
        self.worker_count = workers
        self.budget_seconds = budget_seconds
        self.probe_timeout_seconds = probe_timeout_seconds
        self.prefix = netns.run_prefix()
        self.directory = Path(tempfile.mkdtemp(prefix=f"relaymd-topology-{self.prefix}-"))
        self.namespaces = netns.Namespaces(self.prefix)
        # Cleans up should this process be killed outright (SIGKILL skips atexit).
        self.guardian = guard(self.prefix, self.directory)
        self.hosts: list[Host] = []
        self.plan: dict[str, Any] = json.loads((render_dir / "plan.json").read_text())
        self.policy: dict[str, Any] = hujson.parse(
            (render_dir / "tailscale" / "policy.hujson").read_text()
        )
        self.in_force: Mapping[str, Any] = self.policy
        """The policy document control and the filters apply: the rendered one, or a fault's."""
        self.policy_in_force: Policy = read_policy(self.policy)
        self.inventory: Inventory | None = None
        self.started = False
        self.generation = 0

    # -- building ---------------------------------------------------------------

    def build(self) -> Inventory:
        try:
            return self._build()
        except BaseException:
            self.close()
            raise

    def _build(self) -> Inventory:
        base = inventory_from_build(
            self.plan.get("stack", "example"), self.render_dir, outputs=self.plan["outputs"]
        )
        self._bin()
        self._client_key()
        self._plan_hosts(base)
        self.underlay_hub = self.namespaces.add("tnet")
        self.lan_hub = self.namespaces.add("lan")
        for hub in (self.underlay_hub, self.lan_hub):
            self.namespaces.bridge(hub)
        self._lan_hub_address()
        for host in self.hosts:
            self._create(host)
        self.apply_firewalls()
        self.write_netmaps()
        self.write_magicdns()
        for host in self.hosts:
            self._start_daemons(host)
        self._start_lan_services()
        self._wait_ready()
        self.started = True
        self.inventory = inventory_from_document(overlay(base, self._overlay(base)))
        (self.directory / "inventory.json").write_text(self.inventory.to_json())
        return self.inventory

    def _bin(self) -> None:
        binary = self.directory / "bin"
        binary.mkdir()
        for name, script in (("tailscale", "tailscale_cli.py"), ("systemctl", "systemctl.py")):
            launcher = binary / name
            launcher.write_text(f'#!/bin/sh\nexec {" ".join(PYTHON)} {STANDINS / script} "$@"\n')
            launcher.chmod(0o755)
        self.path = f"{binary}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    def _client_key(self) -> None:
        self._ssh_keygen(self.directory / "client_key", "topology-client")
        shutil.copy(self.directory / "client_key.pub", self.directory / "authorized_keys")

    @staticmethod
    def _ssh_keygen(path: Path, comment: str) -> str:
        _generate("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path))
        kind, key, *_ = path.with_suffix(".pub").read_text().split()
        return f"{kind} {key}"

    def _keys(self, host: Host) -> None:
        """Its own SSH host key and WireGuard key pair, as a real node generates them."""
        host.host_key = self._ssh_keygen(host.directory / "ssh_host_ed25519_key", host.hostname)
        private = _generate("wg", "genkey")
        key_file = host.directory / "wireguard.key"
        key_file.write_text(private + "\n")
        key_file.chmod(0o600)
        host.public_key = _generate("wg", "pubkey", given=private + "\n")

    def _plan_hosts(self, base: Mapping[str, Any]) -> None:
        nixos = self.render_dir / "nixos"
        orchestrator = base["orchestrator"]
        relay = base["relays"][0]
        relay_settings = host_declarations(nixos / relay["hostname"] / "configuration.nix")
        lan = ipaddress.ip_interface(relay_settings.settings["relaymd"]["proxmoxGuest"]["address"])
        self.lan_network = lan.network
        self.lan_gateway = str(relay_settings.settings["relaymd"]["proxmoxGuest"]["gateway"])
        free = (
            str(address)
            for address in lan.network.hosts()
            if str(address) not in (self.lan_gateway, str(lan.ip))
        )
        index = iter(range(1, 200))

        def add(role: str, short: str, hostname: str, tag: str, **extra: Any) -> Host:
            number = next(index)
            host = Host(
                role=role,
                hostname=hostname,
                namespace=f"{self.prefix}-{short}",
                directory=self.directory / short,
                tags=(tag,),
                tailnet_ip=tailnet_address(number),
                tailnet_ip6=tailnet_address6(number),
                underlay_ip=str(UNDERLAY.network_address + number),
                **extra,
            )
            host.directory.mkdir()
            host.units_dir.mkdir()
            self._keys(host)
            self.hosts.append(host)
            return host

        add(
            "orchestrator",
            "orch",
            orchestrator["hostname"],
            orchestrator["tag"],
            lan_ip=next(free),
            declarations=host_declarations(nixos / orchestrator["hostname"] / "configuration.nix"),
        )
        for number in range(1, self.relay_count + 1):
            suffix = "" if number == 1 else f"-{number}"
            add(
                "relay",
                f"relay{number}",
                relay["hostname"] + suffix,
                relay["tag"],
                lan_ip=str(lan.ip) if number == 1 else next(free),
                declarations=relay_settings,
            )
        for number in range(1, self.worker_count + 1):
            add(
                "worker", f"w{number}", f"relaymd-worker-{number}", WORKER_TAG, magicdns=number == 1
            )

    def _lan_hub_address(self) -> None:
        prefix = self.lan_network.prefixlen
        netns.ip("-n", self.lan_hub, "addr", "add", f"{self.lan_gateway}/{prefix}", "dev", "br0")

    def _create(self, host: Host) -> None:
        name = self.namespaces.add(host.namespace.removeprefix(self.prefix + "-"))
        if host.magicdns:
            netns.ip("-n", name, "addr", "add", f"{MAGICDNS_ADDRESS}/32", "dev", "lo")
            etc = netns.NETNS_ETC / name
            etc.mkdir(parents=True)
            (etc / "resolv.conf").write_text(
                f"nameserver {MAGICDNS_ADDRESS}\nsearch {self.magic_suffix()}\n"
            )
        short = host.directory.name
        self.namespaces.veth(name, "u0", self.underlay_hub, f"u-{short}")
        netns.ip("-n", name, "addr", "add", f"{host.underlay_ip}/{UNDERLAY.prefixlen}", "dev", "u0")
        if host.lan_ip is not None:
            self.namespaces.veth(name, self._lan_interface(host), self.lan_hub, f"l-{short}")
            netns.ip(
                "-n",
                name,
                "addr",
                "add",
                f"{host.lan_ip}/{self.lan_network.prefixlen}",
                "dev",
                self._lan_interface(host),
            )

    def _lan_interface(self, host: Host) -> str:
        """The orchestrator's rendered LAN interface; a relay's NIC (no rule names it)."""
        if host.role == "orchestrator":
            return str(host.relaymd("orchestrator")["lanInterface"])
        return "eth0"

    # -- policy: filters and control ----------------------------------------------

    def tailnet_nodes(self) -> list[firewall.TailnetNode]:
        return [
            firewall.TailnetNode(host.hostname, host.tags, str(host.tailnet_ip), host.tailnet_ip6)
            for host in self.hosts
        ]

    def apply_policy(self, document: Mapping[str, Any] | None = None) -> None:
        """Put ``document`` in force (default: the one in force, after a node changed): the
        filters and every netmap follow it, as control would push them."""
        if document is not None:
            self.in_force = document
        before = self._peer_pairs()
        self.policy_in_force = read_policy(self.in_force)
        self.apply_firewalls()
        self.write_netmaps()
        # Control has pushed; new peers open their WireGuard sessions in a round trip or two,
        # or, when each side's first handshake met a peer not yet configured, at WireGuard's
        # next retransmission (every 5 s, REKEY_TIMEOUT): allow for a few of those.
        named = {host.hostname: host for host in self.hosts}
        for source, target in sorted(self._peer_pairs() - before):
            netns.wait_until(
                partial(self.path_live, named[source], named[target]),
                f"{source} → {target}",
                timeout=PATH_TIMEOUT_SECONDS,
            )

    def apply_firewalls(self) -> None:
        nodes = self.tailnet_nodes()
        for host, node in zip(self.hosts, nodes, strict=True):
            # A test node declares no firewall; its WireGuard port is open on the underlay,
            # standing in for NAT traversal (disco), which finds a direct path through a
            # stateful firewall. The stack's hosts open it themselves (openFirewall).
            declared = host.declarations.firewall if host.declarations else WORKER_FIREWALL
            # The MagicDNS stand-in runs on the node itself, where tailscaled's own resolver
            # answers without crossing the kernel's input chain: accept it on lo like an own IP.
            local = [*node.addresses, *([MAGICDNS_ADDRESS] if host.magicdns else [])]
            accepts = firewall.accepts_for(self.policy_in_force, nodes, node)
            self.apply_firewall(host, firewall.ruleset(local, accepts, declared))

    def apply_firewall(self, host: Host, rules: str) -> None:
        path = host.directory / "ruleset.nft"
        path.write_text(rules)
        subprocess.run(
            ["ip", "netns", "exec", host.namespace, "nft", "-f", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )

    def member(self, host: Host) -> control.Member:
        # Connected to control: logged in, and its tailscaled runs (or is about to, at build).
        running = "tailscaled" in host.units or not self.started
        return control.Member(
            hostname=host.hostname,
            dns_label=host.dns_label or host.hostname,
            tags=host.tags,
            addresses=host.addresses,
            public_key=host.public_key,
            endpoint=f"{host.underlay_ip}:{control.LISTEN_PORT}",
            connected=host.backend_state == "Running" and running,
        )

    def write_netmaps(self) -> None:
        """What control sends each node now; returns once every running tailscaled applied it
        (control pushes within moments; the checks retry, but a fault should be in place)."""
        self.generation += 1
        members = [self.member(host) for host in self.hosts]
        for host, member in zip(self.hosts, members, strict=True):
            document = control.netmap(
                self.policy_in_force,
                member,
                members,
                backend_state=host.backend_state,
                suffix=self.magic_suffix(),
                private_key_file=str(host.directory / "wireguard.key"),
            )
            path = host.directory / "netmap.json"
            path.with_suffix(".tmp").write_text(
                json.dumps({**document, "Generation": self.generation})
            )
            path.with_suffix(".tmp").replace(path)
        for host in self.hosts:
            if "tailscaled" in host.units and self.started:
                netns.wait_until(partial(self._applied, host), f"{host.hostname}'s netmap")

    def _peer_pairs(self) -> set[tuple[str, str]]:
        """(source, target) host names of every pair of connected nodes that are peers now."""
        members = [self.member(host) for host in self.hosts if self.started]
        return {
            (one.hostname, other.hostname)
            for one in members
            for other in members
            if one is not other
            and one.connected
            and other.connected
            and self.policy_in_force.peers(one.party(), other.party())
        }

    def _applied(self, host: Host) -> bool:
        try:
            return int((host.directory / "netmap.applied").read_text()) >= self.generation
        except (OSError, ValueError):
            return False

    # -- daemons ----------------------------------------------------------------

    def _env(self, host: Host) -> dict[str, str]:
        return {"PATH": self.path, "RELAYMD_HARNESS_UNITS": str(host.units_dir)}

    def start_unit(self, host: Host, unit: str, argv: list[str]) -> None:
        process = self.namespaces.start(
            host.namespace, argv, host.directory / f"{unit}.log", env=self._env(host)
        )
        host.units[unit] = process
        (host.units_dir / f"{unit}.pid").write_text(f"{process.pid}\n")

    def stop_unit(self, host: Host, unit: str) -> None:
        process = host.units.pop(unit)
        process.kill()
        process.wait(timeout=10)

    def _sshd(self, host: Host, host_key: Path) -> None:
        config = host.directory / "sshd_config"
        ports = host.declarations.ssh_ports if host.declarations else (22,)
        lines = [f"Port {port}" for port in ports] + [
            f"HostKey {host_key}",
            f"AuthorizedKeysFile {self.directory / 'authorized_keys'}",
            f"PidFile {host.directory / 'sshd.pid'}",
            "UsePAM no",
            "StrictModes no",
            "PermitRootLogin prohibit-password",
            "PasswordAuthentication no",
            "MaxStartups 200",
            # HOME: a session must not run the machine's own ~/.bashrc (bash reads it under sshd).
            f"SetEnv PATH={self.path} RELAYMD_HARNESS_UNITS={host.units_dir} HOME={host.directory}",
        ]
        config.write_text("\n".join(lines) + "\n")
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        self.start_unit(host, "sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)])
        # The way in from the test machine: a unix socket into the namespace's loopback, so a
        # connection costs what one to a real host does (no namespace entered per connection).
        socket = host.directory / "ssh.sock"
        self.start_unit(
            host,
            "ssh-gateway",
            ["socat", f"UNIX-LISTEN:{socket},fork,mode=600", "TCP:127.0.0.1:22"],
        )

    def magic_suffix(self) -> str:
        host = self.plan["outputs"]["RELAYMD_ORCHESTRATOR_URL"].split("//")[1].split(":")[0]
        return str(host.split(".", 1)[1])

    def write_magicdns(self, override: Mapping[str, str] | None = None) -> None:
        """The names MagicDNS serves: each node's label, with its IPv4 and IPv6 addresses
        (``override``: a name served at another address instead)."""
        names = {
            f"{host.dns_label or host.hostname}.{self.magic_suffix()}": host.addresses
            for host in self.hosts
        }
        names.update({name: (address,) for name, address in (override or {}).items()})
        path = self.directory / "magicdns.hosts"
        path.write_text(
            "".join(f"{address} {name}\n" for name, found in names.items() for address in found)
        )
        # After start-up only: a SIGHUP before dnsmasq installs its handler would kill it.
        for host in self.hosts:
            if "magicdns" in host.units:
                host.units["magicdns"].send_signal(signal.SIGHUP)  # dnsmasq re-reads hosts

    def start_magicdns(self, host: Host) -> None:
        self.start_unit(
            host,
            "magicdns",
            [
                "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--user=root",
                f"--listen-address={MAGICDNS_ADDRESS}", "--bind-interfaces",
                f"--addn-hosts={self.directory / 'magicdns.hosts'}",
                f"--local=/{self.magic_suffix()}/",
                f"--pid-file={host.directory / 'magicdns.pid'}",
            ],
        )  # fmt: skip

    def stop_magicdns(self, host: Host) -> None:
        self.stop_unit(host, "magicdns")
        (host.directory / "magicdns.pid").unlink(missing_ok=True)

    def start_tailscaled(self, host: Host, state: str | None = None) -> None:
        self.start_unit(
            host,
            "tailscaled",
            [
                *PYTHON,
                str(STANDINS / "tailscaled.py"),
                f"--socket={host.socket}",
                f"--state={state or host.directory / 'tailscaled.state'}",
                f"--netmap={host.directory / 'netmap.json'}",
            ],
        )

    def path_live(self, source: Host, target: Host) -> bool:
        """Whether a TSMP ping from ``source`` gets a pong from ``target`` (its CLI)."""
        result = subprocess.run(
            [
                "ip", "netns", "exec", source.namespace, *PYTHON,
                str(STANDINS / "tailscale_cli.py"), f"--socket={source.socket}",
                "ping", "--tsmp", "-c", "1", "--timeout", "1s", str(target.tailnet_ip),
            ],
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        return "pong from" in result.stdout

    def stop_tailscaled(self, host: Host) -> None:
        """Its interface goes with it (wireguard-go dies with its parent); control marks it
        offline."""
        self.stop_unit(host, "tailscaled")
        host.socket.unlink(missing_ok=True)
        self.write_netmaps()

    def restart_tailscaled(self, host: Host, state: str | None = None) -> None:
        """Start it again, waiting until it answers (its interface is up and set then)."""
        if "tailscaled" in host.units:
            self.stop_tailscaled(host)
        self.start_tailscaled(host, state)
        self.write_netmaps()
        netns.wait_until(host.socket.exists, f"{host.hostname} tailscaled")

    def start_api(self, host: Host, listen: str | None = None) -> None:
        port = str(host.relaymd("orchestrator")["port"])
        self.start_unit(
            host,
            "podman-relaymd-orchestrator",
            [
                *PYTHON,
                str(STANDINS / "relaymd_healthz.py"),
                # The evaluated container's bind address, so a wrong one fails the checks.
                "--listen",
                listen or str(host.rendered().api_listen),
                "--port",
                port,
                "--socket",
                str(host.socket),
                "--warnings",
                str(host.directory / "warnings.json"),
            ],
        )

    def start_ipv6_forward(self, host: Host) -> None:
        """The evaluated IPv6 socket and its systemd-socket-proxyd, as socat: an IPv6-only
        listener (BindIPv6Only=ipv6-only) forwarding each connection to the proxy's target."""
        forward = host.rendered().api_ipv6_forward
        assert forward is not None, f"{host.hostname} declares no IPv6 forwarding socket"
        address, _, port = forward.listen.rpartition(":")
        options = [f"bind={address}", "reuseaddr", "fork"]
        if forward.ipv6_only:
            options.append("ipv6only=1")
        target_host, _, target_port = forward.target.rpartition(":")
        self.start_unit(
            host,
            IPV6_FORWARD_UNIT,
            [
                "socat",
                f"TCP6-LISTEN:{port},{','.join(options)}",
                f"TCP4:{target_host}:{target_port}",
            ],
        )

    def start_dnsmasq(self, host: Host) -> None:
        settings = dict(host.rendered().dnsmasq or {})
        lines = []
        for key, value in sorted(settings.items()):
            if key in OWN_DNSMASQ_FILES:
                continue  # this run's own files, below
            for item in value if isinstance(value, list) else [value]:
                lines.append(key if item is True else f"{key}={item}")
        lines += [
            f"pid-file={host.directory / 'dnsmasq.pid'}",
            f"dhcp-leasefile={host.directory / 'dnsmasq.leases'}",
            "user=root",
        ]
        config = host.directory / "dnsmasq.conf"
        config.write_text("\n".join(lines) + "\n")
        self.start_unit(
            host, "dnsmasq", ["dnsmasq", "--keep-in-foreground", f"--conf-file={config}"]
        )

    def _start_daemons(self, host: Host) -> None:
        self._sshd(host, host.directory / "ssh_host_ed25519_key")
        self.start_tailscaled(host)
        if host.magicdns:
            self.start_magicdns(host)
        if host.role == "orchestrator":
            (host.directory / "warnings.json").write_text("[]")
            self.start_api(host)
            if host.rendered().api_ipv6_forward is not None:
                self.start_ipv6_forward(host)
            self.namespaces.start(
                host.namespace,
                [*PYTHON, str(STANDINS / "listener.py"), "127.0.0.1", str(DASHBOARD_PORT)],
                host.directory / "dashboard.log",
            )
        if host.role == "relay":
            # After the tailnet, as relaymd.tailnet.dependentServices orders it on the host.
            netns.wait_until(host.socket.exists, f"{host.hostname} tailscaled")
            self.start_dnsmasq(host)

    def _start_lan_services(self) -> None:
        relay = self.relays()[0]
        domain = relay.relaymd("relay")["internalDomain"]
        lan = Host("lan", "lan", self.lan_hub, self.directory / "lan")
        lan.directory.mkdir()
        lan.units_dir.mkdir()
        lan.host_key = self._ssh_keygen(lan.directory / "ssh_host_ed25519_key", "lan")
        self.lan = lan
        self._sshd(lan, lan.directory / "ssh_host_ed25519_key")
        # The LAN's own resolver, which the relay forwards the internal domain to.
        self.start_unit(
            lan,
            "resolver",
            [
                "dnsmasq",
                "--keep-in-foreground",
                "--no-resolv",
                "--no-hosts",
                "--user=root",
                f"--listen-address={self.lan_gateway}",
                "--bind-interfaces",
                f"--local=/{domain}/",
                f"--host-record=gateway.{domain},{self.lan_gateway}",
                f"--pid-file={lan.directory / 'resolver.pid'}",
            ],
        )

    def _wait_ready(self) -> None:
        for host in [*self.hosts, self.lan]:
            sshd = partial(netns.listening, host.namespace, "127.0.0.1", 22)
            netns.wait_until(sshd, f"{host.hostname} sshd")
            netns.wait_until((host.directory / "ssh.sock").exists, f"{host.hostname} ssh socket")
        for host in self.hosts:
            netns.wait_until(host.socket.exists, f"{host.hostname} tailscaled")
        orchestrator = self.orchestrator()
        netns.wait_until(
            lambda: netns.listening(orchestrator.namespace, "127.0.0.1", self.api_port()),
            "the RelayMD API",
        )
        if orchestrator.rendered().api_ipv6_forward is not None:
            netns.wait_until(
                lambda: netns.listening(orchestrator.namespace, "::1", self.api_port()),
                "the RelayMD API's IPv6 socket",
            )
        for host in self.hosts:
            if host.magicdns:
                netns.wait_until((host.directory / "magicdns.pid").exists, "MagicDNS")
        for relay in self.relays():
            netns.wait_until((relay.directory / "dnsmasq.pid").exists, "dnsmasq")

    # -- the inventory ----------------------------------------------------------

    def ssh_alias(self, host: Host) -> str:
        return f"{self.prefix}-{host.directory.name}"

    def _ssh_config(self) -> Path:
        """How to reach each namespace's sshd; which key it must present is the inventory's
        to say (verify pins it), so this file names no known_hosts."""
        entries = []
        for host in [*self.hosts, self.lan]:
            entries.append(
                "\n".join(
                    [
                        f"Host {self.ssh_alias(host)}",
                        "  User root",
                        f"  IdentityFile {self.directory / 'client_key'}",
                        "  IdentitiesOnly yes",
                        "  BatchMode yes",
                        "  UserKnownHostsFile /dev/null",
                        "  StrictHostKeyChecking yes",
                        f"  ProxyCommand socat - UNIX-CONNECT:{host.directory / 'ssh.sock'}",
                        # Debian 12's OpenSSH 9.2 (both ends here) defaults to sntrup761, which
                        # costs about 0.1 s of CPU a connection; 9.9 and later (NixOS hosts, a
                        # tester's own machine) negotiate ML-KEM, as cheap as curve25519.
                        "  KexAlgorithms curve25519-sha256",
                        "  LogLevel ERROR",
                    ]
                )
            )
        path = self.directory / "ssh_config"
        path.write_text("\n\n".join(entries) + "\n")
        return path

    def _overlay(self, base: Mapping[str, Any]) -> dict[str, Any]:
        """What a tester's inventory file adds to the render for these hosts, and what the
        stack outputs would give (the relays' host keys)."""
        orchestrator = self.orchestrator()
        relay_base = base["relays"][0]
        return {
            "orchestrator": {
                "host": f"ssh://{self.ssh_alias(orchestrator)}",
                "tailscale_socket": str(orchestrator.socket),
                "lan_address": orchestrator.lan_ip,
                "ssh_host_key": orchestrator.host_key,
            },
            "relays": [
                {
                    **relay_base,
                    "hostname": relay.hostname,
                    "host": f"ssh://{self.ssh_alias(relay)}",
                    "tailscale_socket": str(relay.socket),
                    "ssh_host_key": relay.host_key,
                }
                for relay in self.relays()
            ],
            "workers": [
                {
                    "host": f"ssh://{self.ssh_alias(worker)}",
                    "hostname": worker.hostname,
                    "tag": WORKER_TAG,
                    "tailscale_socket": str(worker.socket),
                    "ssh_host_key": worker.host_key,
                }
                for worker in self.workers()
            ],
            "lan_probe": f"ssh://{self.ssh_alias(self.lan)}",
            "lan_probe_host_key": self.lan.host_key,
            "ssh_config": str(self._ssh_config()),
            "budget_seconds": self.budget_seconds,
            "probe_timeout_seconds": self.probe_timeout_seconds,
            # The stand-in API answers at once; a real RelayMD may take 2 x 5 s.
            "healthz_timeout_seconds": 3.0,
        }

    # -- lookups ----------------------------------------------------------------

    def orchestrator(self) -> Host:
        return next(host for host in self.hosts if host.role == "orchestrator")

    def relays(self) -> list[Host]:
        return [host for host in self.hosts if host.role == "relay"]

    def workers(self) -> list[Host]:
        return [host for host in self.hosts if host.role == "worker"]

    def api_port(self) -> int:
        return int(self.orchestrator().relaymd("orchestrator")["port"])

    def start_infisical_relay(self) -> None:
        """What an enabled Infisical Relay looks like from its host: its unit and ports."""
        relay = self.relays()[0]
        assert self.inventory is not None
        ports = [str(port) for port in self.inventory.infisical_relay_ports]
        self.start_unit(
            relay,
            INFISICAL_RELAY_UNIT,
            [*PYTHON, str(STANDINS / "listener.py"), ANY_ADDRESS, *ports],
        )
        netns.wait_until(
            lambda: netns.listening(relay.namespace, "127.0.0.1", int(ports[-1])), "relay"
        )

    def stop_infisical_relay(self) -> None:
        self.stop_unit(self.relays()[0], INFISICAL_RELAY_UNIT)

    # -- teardown ---------------------------------------------------------------

    def close(self) -> None:
        self.namespaces.close()
        with suppress(OSError):
            shutil.rmtree(self.directory)
        if self.guardian.stdin is not None:
            self.guardian.stdin.close()  # nothing is left for it: it exits
        with suppress(subprocess.TimeoutExpired):
            self.guardian.wait(timeout=10)
