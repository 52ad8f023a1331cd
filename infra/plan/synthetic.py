"""Synthetic stacks for the benchmark: the example stack with N relays instead of one.

Every relay is a valid, distinct copy of the example's (its own name, address, VM id and
tailnet hostname, all on one /16); the SOPS file is the example's, named by absolute path, so a
synthetic stack decrypts exactly as the example does.
"""

from __future__ import annotations

import copy
import ipaddress
from pathlib import Path
from typing import Any

import yaml

from infra.config.loading import read_stack_file
from infra.ground.project import PROJECT, PROJECT_ROOT

SUBNET = ipaddress.IPv4Network("10.100.0.0/16")
FIRST_VM_ID = 5000


def synthetic_stack(relays: int) -> dict[str, Any]:
    """The example's settings with ``relays`` relays, as ``read_stack_file`` returns them."""
    settings: dict[str, Any] = copy.deepcopy(read_stack_file(PROJECT_ROOT, "example"))
    template = settings["relays"][0]
    gateway = SUBNET.network_address + 1
    settings["relays"] = [
        {
            **template,
            "name": f"relay-{number}",
            "vm_id": FIRST_VM_ID + number,
            "address": f"{gateway + 1 + number}/{SUBNET.prefixlen}",
            "gateway": str(gateway),
            "nameservers": [str(gateway)],
            "tailnet_hostname": f"relaymd-relay-{number}",
            "advertise_routes": [],
        }
        for number in range(1, relays + 1)
    ]
    sops: dict[str, str] = settings["sops"]
    settings["sops"] = {key: str(PROJECT_ROOT / sops[key]) for key in ("file", "age_key_file")}
    return settings


def write_stack(project_dir: Path, name: str, settings: dict[str, Any]) -> Path:
    """Write ``Pulumi.<name>.yaml`` the way a user would, for ``--project-dir``."""
    path = project_dir / f"Pulumi.{name}.yaml"
    config = {f"{PROJECT}:{key}": value for key, value in settings.items()}
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=True))
    return path
