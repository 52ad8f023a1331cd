"""The bad-input catalogue: every class ends in exit 2, names the field, and writes nothing.

Driven through the command line's entry point (``cli.main``), as ``scripts/plan`` runs it,
against a project directory of its own; each case builds the stack file and SOPS file a
user (or an attacker opening a pull request) could hand it.
"""

from __future__ import annotations

import copy
import functools
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import infra.config.sources
from infra.cli import app as cli
from infra.ground.project import PROJECT_ROOT
from tests.support.stacks import (
    EXAMPLE_AGE_KEY,
    encrypt_sops_file,
    example_raw_config,
    example_secrets_document,
)

STACK = "bad"
CANARY = "CANARY-catalogue-3e1f"
EXAMPLE_SOPS = PROJECT_ROOT / "secrets" / "example.sops.yaml"
EXAMPLE_HOST_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB078j5b7Sm3o2DRIL0CWzsJfF56zaJy3vcPu1qEupP7"
)


@dataclass(frozen=True)
class Project:
    root: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def stack_file(self) -> Path:
        return self.root / f"Pulumi.{STACK}.yaml"

    def write_config(self, raw: dict[str, Any]) -> None:
        """A stack file holding ``raw``, with a SOPS file the example identity opens."""
        (self.root / "secrets").mkdir(exist_ok=True)
        target = self.root / "secrets" / f"{STACK}.sops.yaml"
        if not target.exists():
            shutil.copyfile(EXAMPLE_SOPS, target)
        config = {f"relaymd-infra:{key}": value for key, value in raw.items()}
        self.stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False))

    def write_secrets(self, document: dict[str, Any]) -> None:
        (self.root / "secrets").mkdir(exist_ok=True)
        encrypt_sops_file(self.root / "secrets" / f"{STACK}.sops.yaml", document)
        self.write_config(project_config())


Build = Callable[[Project], list[str]]
"""Writes the project; returns extra command-line arguments."""


@dataclass(frozen=True)
class Case:
    name: str
    build: Build
    field: str
    """Words the message must contain: the field (or file, or option) it names."""


def project_config() -> dict[str, Any]:
    """The example's settings, reading this project's SOPS file with the example identity."""
    raw = example_raw_config()
    raw["sops"] = {"file": f"secrets/{STACK}.sops.yaml", "age_key_file": str(EXAMPLE_AGE_KEY)}
    return raw


@functools.cache
def _example_secrets() -> dict[str, Any]:
    return example_secrets_document()


def secrets_document() -> dict[str, Any]:
    return copy.deepcopy(_example_secrets())


def _mutated(
    original: Callable[[], dict[str, Any]],
    write: Callable[[Project, dict[str, Any]], None],
    mutate: Callable[[dict[str, Any]], object],
) -> Build:
    def build(project: Project) -> list[str]:
        document = original()
        mutate(document)
        write(project, document)
        return []

    return build


def _config(mutate: Callable[[dict[str, Any]], object]) -> Build:
    return _mutated(project_config, Project.write_config, mutate)


def _secrets(mutate: Callable[[dict[str, Any]], object]) -> Build:
    return _mutated(secrets_document, Project.write_secrets, mutate)


def _text(text: str | bytes) -> Build:
    def build(project: Project) -> list[str]:
        project.write_config(project_config())
        data = text.encode() if isinstance(text, str) else text
        project.stack_file.write_bytes(data)
        return []

    return build


def _example_text() -> str:
    return (PROJECT_ROOT / "Pulumi.example.yaml").read_text()


def _relay(raw: dict[str, Any]) -> dict[str, Any]:
    relay: dict[str, Any] = raw["relays"][0]
    return relay


def _set(section: str, **values: Any) -> Callable[[dict[str, Any]], object]:
    return lambda raw: raw.setdefault(section, {}).update(values)


def _relay_set(**values: Any) -> Callable[[dict[str, Any]], object]:
    return lambda raw: _relay(raw).update(values)


ALIAS_BOMB = (
    "config:\n  relaymd-infra:tailnet:\n    name: &a0 [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"    k{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]\n" for level in range(1, 6)
    )
)


def _hardware_symlink(project: Project) -> list[str]:
    hardware = project.root / "nixos" / "hardware"
    hardware.mkdir(parents=True)
    (hardware / "passwd.nix").symlink_to("/etc/passwd")
    project.monkeypatch.setattr(infra.config.sources, "PROJECT_ROOT", project.root)
    raw = project_config()
    raw["orchestrator"]["hardware_configuration"] = "nixos/hardware/passwd.nix"
    project.write_config(raw)
    return []


def _hardware_directory_symlink(project: Project) -> list[str]:
    (project.root / "nixos").mkdir()
    (project.root / "nixos" / "hardware").symlink_to(PROJECT_ROOT / "nixos")
    project.monkeypatch.setattr(infra.config.sources, "PROJECT_ROOT", project.root)
    raw = project_config()
    raw["orchestrator"]["hardware_configuration"] = "nixos/hardware/relay.nix"
    project.write_config(raw)
    return []


def _hardware_without_platform(project: Project) -> list[str]:
    hardware = project.root / "nixos" / "hardware"
    hardware.mkdir(parents=True)
    example = (PROJECT_ROOT / "nixos" / "hardware" / "example-orchestrator.nix").read_text()
    without = "\n".join(line for line in example.splitlines() if "hostPlatform" not in line)
    (hardware / "host.nix").write_text(without)
    project.monkeypatch.setattr(infra.config.sources, "PROJECT_ROOT", project.root)
    raw = project_config()
    raw["orchestrator"]["hardware_configuration"] = "nixos/hardware/host.nix"
    project.write_config(raw)
    return []


def _ambient(variable: str) -> Build:
    def build(project: Project) -> list[str]:
        project.monkeypatch.setenv(variable, CANARY)
        project.write_config(project_config())
        return []

    return build


def _missing_age_key(project: Project) -> list[str]:
    raw = project_config()
    project.write_config(raw)
    text = project.stack_file.read_text().replace(str(EXAMPLE_AGE_KEY), "secrets/no-such.key")
    project.stack_file.write_text(text)
    return []


def _null_sops_file(project: Project) -> list[str]:
    raw = project_config()
    raw["sops"]["file"] = None
    project.write_config(raw)
    (project.root / "secrets" / f"{STACK}.sops.yaml").unlink()
    return []


def _sops_file(content: bytes) -> Build:
    def build(project: Project) -> list[str]:
        project.write_config(project_config())
        (project.root / "secrets" / f"{STACK}.sops.yaml").write_bytes(content)
        return []

    return build


def _out_foreign_directory(project: Project) -> list[str]:
    project.write_config(project_config())
    foreign = project.root / "keep"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("not a render\n")
    return ["--out", str(foreign)]


def _out_file(project: Project) -> list[str]:
    project.write_config(project_config())
    (project.root / "keep.txt").write_text("not a directory\n")
    return ["--out", str(project.root / "keep.txt")]


def _no_stack_file(project: Project) -> list[str]:
    return []


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": "x"}
    for _ in range(depth):
        node = {"n": node}
    return node


CASES = [
    # The stack file as a document.
    Case("YAML syntax error", _text("config:\n  relaymd-infra:tailnet: [\n"), "line 3"),
    Case("alias bomb", _text(ALIAS_BOMB), "relaymd-infra:tailnet"),
    Case("20,000-deep nesting", _text("config: " + "[" * 20_000 + "]" * 20_000), "line 1"),
    Case("50 MB string", _text("config: '" + "x" * 50_000_000 + "'\n"), f"Pulumi.{STACK}.yaml"),
    Case("non-UTF-8 byte", _text(b"config:\n  relaymd-infra:tailnet:\n    name: \xff\n"), "UTF-8"),
    Case("config as a list", _text("config:\n  - relaymd-infra:tailnet\n"), "config: got"),
    Case("config as a scalar", _text("config: relaymd-infra\n"), "config: got"),
    Case("document is a list", _text("- config\n"), "(top level)"),
    Case(
        "duplicate key in a section",
        _text(_example_text().replace("    name: example.org\n", "    name: a.org\n    name: b\n")),
        "config.relaymd-infra:tailnet.name",
    ),
    Case(
        "duplicate section",
        _text(_example_text() + "  relaymd-infra:keys:\n    host_key_expiry_days: 1\n"),
        "config.relaymd-infra:keys",
    ),
    Case("recursive alias", _text("config: &loop\n  relaymd-infra:tailnet: *loop\n"), "config"),
    Case(
        "too many aliases",
        _text("x: &a 1\nconfig: [" + ", ".join(["*a"] * 100) + "]\n"),
        "aliases",
    ),
    Case("binary value", _text("config:\n  relaymd-infra:tailnet: !!binary eA==\n"), "tailnet"),
    Case("Python object tag", _text("config: !!python/object:os.system {}\n"), "line 1"),
    # Settings.
    Case("sops.file null with no default file", _null_sops_file, "sops.file"),
    Case("sops.file as a list", _config(lambda raw: raw.update(sops={"file": ["a"]})), "sops.file"),
    Case("sops.age_key_file missing", _missing_age_key, "sops.age_key_file"),
    Case(
        "trailing newline in a hostname",
        _config(_set("orchestrator", tailnet_hostname="relaymd-orchestrator\n")),
        "orchestrator.tailnet_hostname",
    ),
    Case(
        "trailing newline in the MagicDNS suffix",
        _config(_set("tailnet", magic_dns_suffix="tail0a1b2c.ts.net\n")),
        "tailnet.magic_dns_suffix",
    ),
    Case(
        "image tagged latest, which pins nothing",
        _config(_set("orchestrator", image="ghcr.io/example-org/relaymd-orchestrator:latest")),
        "orchestrator.image",
    ),
    Case(
        "trailing newline in the image",
        _config(_set("orchestrator", image="ghcr.io/example-org/relaymd:1\n")),
        "orchestrator.image",
    ),
    Case(
        "trailing newline in the SSH target",
        _config(_set("orchestrator", ssh_target="admin@host\n")),
        "orchestrator.ssh_target",
    ),
    Case(
        "trailing newline in a tag",
        _config(_set("tailnet", tags={"worker": "tag:relaymd-worker\n"})),
        "tailnet.tags.worker",
    ),
    Case(
        "trailing newline in an admin",
        _config(_set("tailnet", admins=["alice@example.org\n"])),
        "tailnet.admins[0]",
    ),
    Case(
        "trailing newline in a relay name", _config(_relay_set(name="relay-1\n")), "relays[0].name"
    ),
    Case(
        "newline in the tailnet name",
        _config(_set("tailnet", name="example.org\nX-Injected: 1")),
        "tailnet.name",
    ),
    Case(
        "newline in the SOPS file path",
        _config(lambda raw: raw["sops"].update(file="secrets/bad.sops.yaml\n")),
        "sops.file",
    ),
    Case(
        "trailing newline in the nixpkgs revision",
        _config(_set("nixos", nixpkgs_revision="0" * 40 + "\n")),
        "nixos.nixpkgs_revision",
    ),
    Case(
        "TLS upstream port 99999",
        _config(_relay_set(tls_passthrough_upstream="10.100.10.9:99999")),
        "relays[0].tls_passthrough_upstream",
    ),
    Case(
        "TLS upstream port 0",
        _config(_relay_set(tls_passthrough_upstream="10.100.10.9:0")),
        "relays[0].tls_passthrough_upstream",
    ),
    Case(
        "Proxmox endpoint port 99999",
        _config(_set("proxmox", endpoint="https://proxmox.lan:99999")),
        "proxmox.endpoint",
    ),
    Case(
        "image registry port 70000",
        _config(_set("orchestrator", image="registry.lan:70000/relaymd:1")),
        "orchestrator.image",
    ),
    Case("orchestrator port 70000", _config(_set("orchestrator", port=70000)), "orchestrator.port"),
    Case(
        "advertised IPv4 default route",
        _config(_relay_set(advertise_routes=["0.0.0.0/0"])),
        "relays[0].advertise_routes[0]",
    ),
    Case(
        "advertised tailnet CGNAT range",
        _config(_relay_set(advertise_routes=["100.64.0.0/10"])),
        "relays[0].advertise_routes[0]",
    ),
    Case(
        "advertised subnet inside the tailnet range",
        _config(_relay_set(advertise_routes=["10.100.10.0/24", "100.100.0.0/16"])),
        "relays[0].advertise_routes[1]",
    ),
    Case(
        "advertised tailnet IPv6 range",
        _config(_relay_set(advertise_routes=["fd7a:115c:a1e0::/48"])),
        "relays[0].advertise_routes[0]",
    ),
    Case(
        "advertised IPv6 default route",
        _config(_relay_set(advertise_routes=["::/0"])),
        "relays[0].advertise_routes[0]",
    ),
    Case(
        "disk smaller than the template's",
        _config(_relay_set(disk_gb=20, template_disk_gb=32)),
        "relays[0].disk_gb",
    ),
    Case(
        "boot disk interface the installer cannot name",
        _config(_relay_set(boot_disk_interface="ide2")),
        "relays[0].boot_disk_interface",
    ),
    Case("hardware file is a symlink", _hardware_symlink, "orchestrator.hardware_configuration"),
    Case(
        "hardware file naming no platform",
        _hardware_without_platform,
        "orchestrator.hardware_configuration",
    ),
    Case(
        "no admin key: the orchestrator's first switch would lock everyone out",
        _config(_set("nixos", admin_ssh_keys=[])),
        "nixos.admin_ssh_keys",
    ),
    Case(
        "an Infisical Relay whose CLI has no known hash",
        _config(_relay_set(infisical_relay=True)),
        "nixos.infisical_cli.sha256",
    ),
    Case(
        "hardware directory is a symlink",
        _hardware_directory_symlink,
        "orchestrator.hardware_configuration",
    ),
    Case(
        "hardware file outside nixos/hardware",
        _config(_set("orchestrator", hardware_configuration="nixos/hardware/../../etc.nix")),
        "orchestrator.hardware_configuration",
    ),
    Case(
        "secret value in the stack file",
        _config(lambda raw: raw.update(keys={"secure": "AAAA"})),
        "relaymd-infra:keys",
    ),
    Case(
        "misspelt section",
        _config(lambda raw: raw.update(relay=raw.pop("relays"))),
        "relaymd-infra:relay",
    ),
    # The SOPS file and its content.
    Case(
        "secret with a newline",
        _secrets(lambda doc: doc["relaymd"].update(AXIOM_TOKEN=CANARY + "\nEXTRA=1")),
        "relaymd.AXIOM_TOKEN",
    ),
    Case(
        "secret with an escape character",
        _secrets(lambda doc: doc["orchestrator"].update(infisical_token=CANARY + "\x1b[2J")),
        "orchestrator.infisical_token",
    ),
    Case(
        "API key and OAuth client together",
        _secrets(lambda doc: doc["tailscale"].update(api_key=CANARY)),
        "tailscale.api_key",
    ),
    Case(
        "OAuth client without its secret",
        _secrets(lambda doc: doc["tailscale"].pop("oauth_client_secret")),
        "tailscale",
    ),
    Case(
        "credential read from a file",
        _secrets(lambda doc: doc["tailscale"].update(oauth_client_secret="file:/etc/shadow")),
        "tailscale.oauth_client_secret",
    ),
    Case(
        "secret as a number",
        _secrets(lambda doc: doc["relaymd"].update(AXIOM_TOKEN=12345)),
        "relaymd.AXIOM_TOKEN",
    ),
    Case(
        "secrets 40 levels deep",
        _secrets(lambda doc: doc.update(extra=_nested(40))),
        "sops.file",
    ),
    Case(
        "unknown secret name",
        _secrets(lambda doc: doc["relaymd"].update(AXIOM_TOKNE=CANARY)),
        "relaymd.AXIOM_TOKNE",
    ),
    Case("SOPS file that is not encrypted", _sops_file(b"tailscale: {}\n"), "sops.file"),
    Case("SOPS file larger than 1 MiB", _sops_file(b"#" * (2 * 1024 * 1024)), "sops.file"),
    # Settings and SOPS values added with host keys, state versions, storage and Infisical.
    Case(
        "trailing newline in the orchestrator host key",
        _config(_set("orchestrator", ssh_host_key=EXAMPLE_HOST_KEY + "\n")),
        "orchestrator.ssh_host_key",
    ),
    Case(
        "host key that is not ED25519",
        _config(_set("orchestrator", ssh_host_key="ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ")),
        "orchestrator.ssh_host_key",
    ),
    Case(
        "host key comment with a C1 control",
        _config(_set("orchestrator", ssh_host_key=EXAMPLE_HOST_KEY + " root@host\x85x")),
        "orchestrator.ssh_host_key",
    ),
    Case(
        "state_version written as a number",
        _config(_set("orchestrator", state_version=24.11)),
        "orchestrator.state_version",
    ),
    Case(
        "trailing newline in a relay's state_version",
        _config(_relay_set(state_version="26.05\n")),
        "relays[0].state_version",
    ),
    Case(
        "unknown storage provider",
        _config(_set("orchestrator", storage_provider="s3")),
        "orchestrator.storage_provider",
    ),
    Case(
        "Infisical project other than stock RelayMD's",
        _config(_set("infisical", project_id="abcd1234")),
        "infisical.project_id",
    ),
    Case(
        "trailing newline in a custom Infisical path",
        _config(_set("infisical", secret_path="/RelayMD\n", custom_relaymd_build=True)),
        "infisical.secret_path",
    ),
    Case(
        "custom_relaymd_build as free text",
        _config(_set("infisical", custom_relaymd_build="yes please")),
        "infisical.custom_relaymd_build",
    ),
    Case(
        "registry username without its password",
        _secrets(lambda doc: doc["orchestrator"].update(apptainer_docker_username=CANARY)),
        "orchestrator.apptainer_docker_username",
    ),
    Case(
        "registry password with a newline",
        _secrets(
            lambda doc: doc["orchestrator"].update(
                apptainer_docker_username="robot", apptainer_docker_password=CANARY + "\nX=1"
            )
        ),
        "orchestrator.apptainer_docker_password",
    ),
    Case(
        "registry login under relaymd",
        _secrets(lambda doc: doc["relaymd"].update(APPTAINER_DOCKER_PASSWORD=CANARY)),
        "orchestrator.apptainer_docker_password instead",
    ),
    Case(
        "no Infisical identity",
        _secrets(lambda doc: doc.pop("infisical")),
        "infisical: got nothing",
    ),
    Case(
        "Infisical identity secret with a tab",
        _secrets(lambda doc: doc["infisical"].update(client_secret=CANARY + "\tx")),
        "infisical.client_secret",
    ),
    Case(
        "storage secret of the chosen provider missing",
        _secrets(lambda doc: doc["relaymd"].pop("B2_ENDPOINT")),
        "relaymd.B2_ENDPOINT",
    ),
    Case(
        "secret longer than 16 KiB",
        _secrets(lambda doc: doc["relaymd"].update(AXIOM_TOKEN=CANARY * 2000)),
        "relaymd.AXIOM_TOKEN",
    ),
    Case(
        "secret with a Unicode line separator",
        _secrets(lambda doc: doc["relaymd"].update(AXIOM_TOKEN=CANARY + "\u2028X=1")),
        "relaymd.AXIOM_TOKEN",
    ),
    Case(
        "secret name holding a newline",
        _secrets(lambda doc: doc["relaymd"].update({"FOO\nerror: forged": CANARY})),
        "relaymd.FOO\\nerror: forged",
    ),
    # The environment and the command line.
    Case("ambient TAILSCALE_API_KEY", _ambient("TAILSCALE_API_KEY"), "TAILSCALE_API_KEY"),
    Case("ambient TAILSCALE_BASE_URL", _ambient("TAILSCALE_BASE_URL"), "TAILSCALE_BASE_URL"),
    Case("ambient OAUTH_CLIENT_SECRET", _ambient("OAUTH_CLIENT_SECRET"), "OAUTH_CLIENT_SECRET"),
    Case("--out is a foreign directory", _out_foreign_directory, "--out"),
    Case("--out is a file", _out_file, "--out"),
    Case("no stack file", _no_stack_file, "stack"),
]


def test_the_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.name for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_exits_2_names_the_field_and_writes_nothing(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    extra = case.build(Project(root, monkeypatch))
    before = sorted(path for path in root.rglob("*"))
    status = cli.main(["plan", "--stack", STACK, "--project-dir", str(root), *extra])
    captured = capsys.readouterr()
    assert status == 2, captured
    assert case.field in captured.err, captured.err
    assert "Traceback" not in captured.err
    assert CANARY not in captured.out + captured.err
    assert not (root / "build").exists()
    assert sorted(path for path in root.rglob("*")) == before


def test_a_bad_stack_name_is_refused_before_any_path_is_built(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["plan", "--stack", "../etc", "--project-dir", str(tmp_path)])
    assert exited.value.code == 2
    assert "--stack" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
