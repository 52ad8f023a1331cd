"""Running a host's relaymd-switch (the text its deploy-gate.nix builds) against stand-ins.

The script is taken from the whole-host evaluation, with the host's own name, tags and port in
it, and run the way writeShellApplication runs it (bash, errexit, nounset, pipefail). Stand-ins
for tailscale, curl, nix-env, readlink and both systems' switch-to-configuration record their
argv in one log and answer from the environment the test sets.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

WRITE_SHELL_APPLICATION_PREAMBLE = "#!/bin/bash\nset -o errexit\nset -o nounset\nset -o pipefail\n"
_RECORD = (
    'printf "%s" "$(basename "$0")" >> "$STUB_LOG"\n'
    'printf " %s" "$@" >> "$STUB_LOG"\n'
    'echo >> "$STUB_LOG"\n'
)
GATE_STUBS = {
    "tailscale": _RECORD
    + """case "$1" in
  status) [ -f "$TS_STATUS" ] || exit 1; cat "$TS_STATUS" ;;
  ip) for address in $TS_IPS; do
      case "${2:-}:$address" in -4:*:*) ;; *) printf '%s\\n' "$address" ;; esac
    done ;;
esac
""",
    "curl": _RECORD
    + """# HEALTHZ_FAIL: a piece of the URLs that refuse the connection (one address family, say).
case "$*" in *"${HEALTHZ_FAIL:-no address refuses}"*)
  echo "curl: (7) Failed to connect" >&2; exit 7 ;;
esac
printf '%s' "$HEALTHZ_BODY"
""",
    "nix-env": _RECORD,
    "readlink": _RECORD + 'echo "$PREVIOUS_SYSTEM"\n',
}
SWITCH_STUB = (
    "#!/bin/bash\n"
    'printf "%s %s\\n" "$0" "$*" >> "$STUB_LOG"\n'
    'if [ "$0" = "${FAIL_SWITCH:-}" ]; then exit 4; fi\n'
)


def install_stubs(directory: Path, stubs: dict[str, str]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, body in stubs.items():
        path = directory / name
        path.write_text("#!/bin/bash\nset -eu\n" + body)
        path.chmod(0o755)


def fake_system(path: Path, gate_script: str | None = None) -> Path:
    """A system directory: bin/switch-to-configuration, and sw/bin/relaymd-switch when given."""
    (path / "bin").mkdir(parents=True, exist_ok=True)
    switch = path / "bin" / "switch-to-configuration"
    switch.write_text(SWITCH_STUB)
    switch.chmod(0o755)
    if gate_script is not None:
        (path / "sw" / "bin").mkdir(parents=True, exist_ok=True)
        gate = path / "sw" / "bin" / "relaymd-switch"
        gate.write_text(WRITE_SHELL_APPLICATION_PREAMBLE + gate_script)
        gate.chmod(0o755)
    return path


def tailscale_status(state: str, dns_name: str, tags: list[str]) -> str:
    """`tailscale status --json --peers=false`, the fields the gate reads."""
    document: dict[str, Any] = {"BackendState": state, "Self": {"DNSName": dns_name}}
    if tags:
        document["Self"]["Tags"] = tags
    return json.dumps(document)


def healthz(*, connected: bool = True, warnings: list[str] | None = None) -> str:
    """RelayMD's /healthz body (always HTTP 200)."""
    tailscale: dict[str, Any] = {"connected": connected}
    if not connected:
        tailscale["error"] = "NeedsLogin"
    return json.dumps(
        {"status": "ok", "version": "0.2.21", "warnings": warnings or [], "tailscale": tailscale}
    )
