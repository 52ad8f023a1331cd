"""Stand-in tailscaled: a real WireGuard interface, configured from the control stand-in's
netmap, and the LocalAPI the ``tailscale`` CLI stand-in talks to.

Mirrors tailscale v1.98.5, what nixos-26.05 ships at the pin (nixos/nixpkgs-pin.json; every file
cited here is the same at v1.98.3, the module the pinned provider links), where the checks look:
- the node's ``tailscale0`` is a kernel interface carrying WireGuard, with the node's own
  key, its tailnet addresses (/32 and /128) and a route to each peer's addresses (per-peer
  routes: ipn/ipnlocal/local.go ``shouldUseOneCGNATRoute`` is false on Linux); a node
  trimmed from the netmap has no peer and no route;
- ``GET /localapi/v0/status``: ``ipnstate.Status`` with ``Self`` and ``Peer`` (keyed by node
  key), the fields of ipn/ipnstate/ipnstate.go, ``Tags``/``AllowedIPs`` omitted when empty;
- ``POST /localapi/v0/ping?ip=&type=``: ``ipnstate.PingResult``; "no matching peer" for an
  address no peer holds (wgengine/userspace.go ``Ping``); a TSMP ping is an IP packet of
  protocol 99 carrying ``'p'`` and 8 bytes, answered with ``'o'``, the same 8 bytes and the
  peerapi port (net/packet/tsmp.go) by the peer's tailscaled before its packet filter runs
  (net/tstun/wrap.go ``filterPacketInboundFromWireGuard``); an ICMP ping is an echo request
  that the peer's filter judges and its OS answers (``sendICMPEchoRequest``, 10 s expiry).
- ``--state=mem:`` registers an ephemeral node (cmd/tailscaled/tailscaled.go).

The interface comes from Debian's ``wireguard-go`` (userspace WireGuard on /dev/net/tun) in a
private /run, so every namespaced node can have its own ``tailscale0``; ``wg`` configures it.
Not mirrored: the control client, DERP, NAT traversal, disco, netstack, the packet filter
(firewall.py applies the policy with nftables on this interface), MagicDNS (dnsmasq stands in).

    python3 tailscaled.py --socket=PATH --state=PATH --netmap=FILE [--tun=tailscale0]
    python3 tailscaled.py ... --tun=userspace-networking     (no interface: status only)
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import socketserver
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

VERSION = "1.98.5-standin"
STATUS_PATH = "/localapi/v0/status"
PING_PATH = "/localapi/v0/ping"
INTERFACE = "tailscale0"
TSMP = 99
"""types/ipproto/ipproto.go: ``TSMP Proto = 99``."""
TSMP_PING, TSMP_PONG = b"p", b"o"
PING_EXPIRY_SECONDS = 10.0
ABANDONED_PING_SECONDS = 60.0
KEEPALIVE_SECONDS = 25
PR_SET_PDEATHSIG = 1
RUN_DIRECTORY = Path("/run")


def node_key(public_key: str) -> str:
    """``key.NodePublic`` as JSON prints it: ``nodekey:`` and the 32 bytes in hex."""
    return "nodekey:" + base64.b64decode(public_key).hex()


def peer_status(entry: dict[str, Any], suffix: str, **extra: Any) -> dict[str, Any]:
    """ipnstate.PeerStatus (v1.98.5 field names; ``omitempty`` fields left out when empty)."""
    addresses = entry.get("TailscaleIPs") or []
    allowed = entry.get("AllowedIPs") or [f"{ip}/{128 if ':' in ip else 32}" for ip in addresses]
    status: dict[str, Any] = {
        "ID": "n" + entry["HostName"],
        "PublicKey": node_key(entry["PublicKey"]),
        "HostName": entry["HostName"],
        # DNSName ends with a dot: "host.<MagicDNSSuffix>." (ipnstate.go).
        "DNSName": f"{entry.get('DNSLabel') or entry['HostName']}.{suffix}.",
        "OS": "linux",
        "UserID": 1,
        "TailscaleIPs": addresses,
        **({"AllowedIPs": allowed} if allowed else {}),
        **({"Tags": entry["Tags"]} if entry.get("Tags") else {}),
        "Addrs": None,
        "CurAddr": extra.get("CurAddr", ""),
        "Relay": "",
        "PeerRelay": "",
        "RxBytes": 0,
        "TxBytes": 0,
        "Created": "2026-01-01T00:00:00Z",
        "LastWrite": "0001-01-01T00:00:00Z",
        "LastSeen": "0001-01-01T00:00:00Z",
        "LastHandshake": "0001-01-01T00:00:00Z",
        "Online": bool(entry.get("Online")),
        "ExitNode": False,
        "ExitNodeOption": False,
        "Active": False,
        "PeerAPIURL": None,
        "TaildropTarget": 0,
        "NoFileSharingReason": "",
        "InNetworkMap": True,
        "InMagicSock": bool(extra.get("InMagicSock")),
        "InEngine": bool(extra.get("InEngine")),
    }
    return status


def status(netmap: dict[str, Any], tun: bool) -> dict[str, Any]:
    """ipnstate.Status as ``tailscale status --json`` prints it (v1.98.5)."""
    running = netmap["BackendState"] == "Running"
    suffix = netmap["MagicDNSSuffix"]
    me = netmap["Self"]
    return {
        "Version": VERSION,
        "TUN": tun,
        "BackendState": netmap["BackendState"],
        "HaveNodeKey": True,
        "AuthURL": "",
        "TailscaleIPs": me["TailscaleIPs"] if running else None,
        "Self": peer_status({**me, "Online": running and me.get("Online", True)}, suffix),
        "Health": [] if running else ["not in map poll"],
        "MagicDNSSuffix": suffix,
        "CurrentTailnet": (
            {"Name": "example.org", "MagicDNSSuffix": suffix, "MagicDNSEnabled": True}
            if running
            else None
        ),
        "CertDomains": None,
        "Peer": {
            node_key(peer["PublicKey"]): peer_status(
                peer, suffix, CurAddr=peer.get("Endpoint", ""), InMagicSock=True, InEngine=True
            )
            for peer in (netmap.get("Peers", []) if running else [])
        }
        or None,
        "User": None,
        "ClientVersion": None,
    }


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


class Pinger:
    """TSMP and ICMP over raw sockets through tailscale0; answers TSMP pings itself."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.waiting: dict[tuple[Any, ...], threading.Event] = {}
        self.lock = threading.Lock()
        self.sockets = {
            ("tsmp", 4): socket.socket(socket.AF_INET, socket.SOCK_RAW, TSMP),
            ("tsmp", 6): socket.socket(socket.AF_INET6, socket.SOCK_RAW, TSMP),
            ("icmp", 4): socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
            ("icmp", 6): socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6),
        }
        for (kind, version), raw in self.sockets.items():
            threading.Thread(target=self._receive, args=(kind, version, raw), daemon=True).start()

    def _receive(self, kind: str, version: int, raw: socket.socket) -> None:
        while True:
            data, sender = raw.recvfrom(65535)
            source = sender[0]
            if version == 4:  # an IPv4 raw socket hands over the IP header too
                data = data[(data[0] & 0x0F) * 4 :]
            if kind == "tsmp":
                self._tsmp(raw, source, data)
            else:
                self._icmp(version, source, data)

    def _tsmp(self, raw: socket.socket, source: str, data: bytes) -> None:
        if len(data) < 9:
            return
        if data[:1] == TSMP_PING and self.daemon.running():
            # wrap.go injectOutboundPong: the 8 bytes back, then the peerapi port (none: 0).
            raw.sendto(TSMP_PONG + data[1:9] + b"\0\0", (source, 0))
        elif data[:1] == TSMP_PONG:
            self._wake(("tsmp", source, data[1:9]))

    def _icmp(self, version: int, source: str, data: bytes) -> None:
        reply = 0 if version == 4 else 129
        if len(data) >= 8 and data[0] == reply:
            identifier, sequence = struct.unpack("!HH", data[4:8])
            self._wake(("icmp", source, identifier, sequence))

    def _wake(self, key: tuple[Any, ...]) -> None:
        with self.lock:
            event = self.waiting.get(key)
        if event is not None:
            event.set()

    def ping(self, kind: str, address: str) -> float | None:
        """Seconds until the answer, or None when none came within the expiry."""
        version = 6 if ":" in address else 4
        raw = self.sockets[(kind, version)]
        if kind == "tsmp":
            data = secrets.token_bytes(8)
            key: tuple[Any, ...] = ("tsmp", address, data)
            packet = TSMP_PING + data
        else:
            identifier, sequence = secrets.randbits(16), 1
            key = ("icmp", address, identifier, sequence)
            header = struct.pack("!BBHHH", 8 if version == 4 else 128, 0, 0, identifier, sequence)
            payload = b"relaymd-standin"
            if version == 4:  # the kernel sums ICMPv6 itself (IPV6_CHECKSUM)
                header = header[:2] + struct.pack("!H", _checksum(header + payload)) + header[4:]
            packet = header + payload
        event = threading.Event()
        with self.lock:
            self.waiting[key] = event
        started = time.monotonic()
        try:
            raw.sendto(packet, (address, 0))
            if not event.wait(PING_EXPIRY_SECONDS):
                return None
            return time.monotonic() - started
        except OSError:
            return None
        finally:
            with self.lock:
                self.waiting.pop(key, None)


class Daemon:
    def __init__(self, netmap_file: Path, tun: bool) -> None:
        self.netmap_file = netmap_file
        self.tun = tun
        self.netmap: dict[str, Any] = json.loads(netmap_file.read_text())
        self.applied: dict[str, Any] = {}
        self.routes: set[str] = set()
        self.pinger: Pinger | None = None

    def running(self) -> bool:
        return bool(self.netmap.get("BackendState") == "Running")

    # -- the WireGuard interface ----------------------------------------------------

    def start_interface(self, log: Path) -> None:
        # `ip netns exec` put us in a mount namespace of our own: a private /run for
        # wireguard-go's control socket (/var/run/wireguard/<interface>.sock), so every
        # namespaced node can call its interface tailscale0. Never the parent's /run.
        if os.readlink("/proc/self/ns/mnt") == os.readlink(f"/proc/{os.getppid()}/ns/mnt"):
            raise SystemExit("tailscaled stand-in: --tun needs its own mount namespace")
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", str(RUN_DIRECTORY)], check=True
        )
        (RUN_DIRECTORY / "wireguard").mkdir(mode=0o700)
        handle = log.open("ab")
        subprocess.Popen(
            ["wireguard-go", "-f", INTERFACE],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env={**os.environ, "WG_PROCESS_FOREGROUND": "1"},
            preexec_fn=_die_with_parent,
        )
        handle.close()
        control = RUN_DIRECTORY / "wireguard" / f"{INTERFACE}.sock"
        deadline = time.monotonic() + 10
        while not control.exists():
            if time.monotonic() > deadline:
                raise SystemExit("tailscaled stand-in: wireguard-go did not come up")
            time.sleep(0.02)
        _ip("link", "set", INTERFACE, "up")
        self.apply()
        self.pinger = Pinger(self)

    def apply(self) -> None:
        """Bring the interface to the netmap: addresses, WireGuard peers, routes."""
        netmap = self.netmap
        running = self.running()
        me = netmap["Self"]
        wanted = (
            {f"{ip}/{128 if ':' in ip else 32}" for ip in me["TailscaleIPs"]} if running else set()
        )
        have = set(self.applied.get("addresses", set()))
        for address in wanted - have:
            _ip("addr", "add", address, "dev", INTERFACE, *(["nodad"] if ":" in address else []))
        for address in have - wanted:
            _ip("addr", "del", address, "dev", INTERFACE, check=False)
        peers = netmap.get("Peers", []) if running else []
        config = [
            "[Interface]",
            f"PrivateKey = {Path(netmap['PrivateKeyFile']).read_text().strip()}",
            f"ListenPort = {netmap['ListenPort']}",
        ]
        for peer in peers:
            config += [
                "[Peer]",
                f"PublicKey = {peer['PublicKey']}",
                f"Endpoint = {peer['Endpoint']}",
                f"AllowedIPs = {', '.join(peer['AllowedIPs'])}",
                # wireguard-go sends a keepalive at once for a peer added with one: a node
                # that starts (or gains a peer) opens the session itself, standing in for
                # disco, which re-establishes every path when tailscaled starts.
                f"PersistentKeepalive = {KEEPALIVE_SECONDS}",
            ]
        conf = RUN_DIRECTORY / "wg.conf"
        conf.write_text("\n".join(config) + "\n")
        conf.chmod(0o600)
        subprocess.run(["wg", "syncconf", INTERFACE, str(conf)], check=True, capture_output=True)
        routes = {route for peer in peers for route in peer["AllowedIPs"]}
        for route in routes - self.routes:
            _ip("route", "replace", route, "dev", INTERFACE)
        for route in self.routes - routes:
            _ip("route", "del", route, "dev", INTERFACE, check=False)
        self.routes = routes
        self.applied = {"addresses": wanted}

    def acknowledge(self) -> None:
        """Say which netmap is in effect (the topology waits for it after a change)."""
        applied = self.netmap_file.with_name("netmap.applied")
        applied.with_suffix(".tmp").write_text(str(self.netmap.get("Generation", 0)))
        applied.with_suffix(".tmp").replace(applied)

    def watch(self) -> None:
        """Control pushes a new netmap: apply it (the topology rewrites the file)."""
        seen = self.netmap_file.stat().st_mtime_ns
        while True:
            time.sleep(0.02)
            with contextlib.suppress(OSError, ValueError):
                stamp = self.netmap_file.stat().st_mtime_ns
                if stamp == seen:
                    continue
                seen = stamp
                self.netmap = json.loads(self.netmap_file.read_text())
                if self.tun:
                    self.apply()
                self.acknowledge()

    # -- LocalAPI -------------------------------------------------------------------

    def ping(self, address: str, kind: str) -> dict[str, Any]:
        result: dict[str, Any] = {
            "IP": address,
            "NodeIP": "",
            "NodeName": "",
            "Err": "",
            "LatencySeconds": 0,
            "Endpoint": "",
            "PeerRelay": "",
            "DERPRegionID": 0,
            "DERPRegionCode": "",
        }
        if address in self.netmap["Self"]["TailscaleIPs"]:
            return {**result, "Err": f"{address} is local Tailscale IP", "IsLocalIP": True}
        peer = next((p for p in self.netmap.get("Peers", []) if address in p["TailscaleIPs"]), None)
        if peer is None or not self.running():
            return {**result, "Err": "no matching peer"}
        if kind not in ("TSMP", "ICMP") or self.pinger is None:
            return {**result, "Err": f"stand-in: {kind} pings are not provided"}
        latency = self.pinger.ping(kind.lower(), address)
        if latency is None:
            # Upstream never answers a ping that got no pong: the CLI's own timeout ends it.
            time.sleep(ABANDONED_PING_SECONDS)
            return {**result, "Err": "timeout"}
        name = peer.get("DNSLabel") or peer["HostName"]
        return {**result, "NodeIP": address, "NodeName": name, "LatencySeconds": latency}


def _ip(*arguments: str, check: bool = True) -> None:
    subprocess.run(["ip", *arguments], check=check, capture_output=True)


def _die_with_parent() -> None:
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class _Handler(BaseHTTPRequestHandler):
    daemon_state: Daemon

    def _send(self, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if urlsplit(self.path).path != STATUS_PATH:
            self.send_error(404)
            return
        self._send(status(self.daemon_state.netmap, self.daemon_state.tun))

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != PING_PATH:
            self.send_error(404)
            return
        query = parse_qs(parts.query)
        address, kind = query.get("ip", [""])[0], query.get("type", [""])[0]
        if not address or not kind:
            self.send_error(400, "missing 'ip' or 'type' parameter")
            return
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._send(self.daemon_state.ping(address, kind))

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the harness reads results, not access logs."""

    def address_string(self) -> str:
        return "local"


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--netmap", required=True, type=Path)
    parser.add_argument("--tun", default=INTERFACE)
    arguments = parser.parse_args()
    if not arguments.state.startswith("mem:"):
        Path(arguments.state).write_text(json.dumps({"_machinekey": "standin"}))
    tun = arguments.tun != "userspace-networking"
    state = Daemon(arguments.netmap, tun)
    if tun:
        state.start_interface(arguments.netmap.parent / "wireguard-go.log")
    state.acknowledge()
    threading.Thread(target=state.watch, daemon=True).start()
    if os.path.exists(arguments.socket):
        os.unlink(arguments.socket)
    _Handler.daemon_state = state
    # The socket last: when it answers, the interface is up and configured.
    with _Server(arguments.socket, _Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    main()
