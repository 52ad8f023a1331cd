"""The stdin archive of a pipeline command: layout, byte-stability, and only its own secrets."""

from __future__ import annotations

import gzip
import io
import tarfile
from base64 import b64decode

import pytest

from infra.config.hosts import relay_hosts
from infra.config.loading import load_stack
from infra.nixos.pipeline import (
    STDIN_DEPLOY_KEY,
    command_stdin,
    host_pipeline,
    private_key_file_content,
    stdin_archive,
)
from tests.support.deployments import archive_files
from tests.support.stacks import example_raw_config

TREE = {"relaymd-relay/configuration.nix": "{ ... }: { }\n", "modules/disko.nix": "{ }\n"}
SECRETS = {"host/tailscale-host-key": "CANARY-stdin-host-key-71c4"}


def members(stdin: str) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(b64decode(stdin)))) as archive:
        return archive.getmembers()


def test_archive_holds_the_tree_under_tree_and_the_secrets_under_secrets() -> None:
    assert archive_files(stdin_archive(TREE, SECRETS)) == {
        "tree/modules/disko.nix": "{ }\n",
        "tree/relaymd-relay/configuration.nix": "{ ... }: { }\n",
        "secrets/host/tailscale-host-key": "CANARY-stdin-host-key-71c4",
    }


def test_archive_is_byte_stable_whatever_the_input_order() -> None:
    reordered = dict(reversed(list(TREE.items())))
    assert stdin_archive(TREE, SECRETS) == stdin_archive(reordered, dict(SECRETS))
    # gzip's header carries no timestamp (bytes 4-7), so the time of the run does not matter.
    assert b64decode(stdin_archive(TREE, SECRETS))[4:8] == b"\0\0\0\0"


def test_entries_are_sorted_files_with_fixed_owner_time_and_mode() -> None:
    entries = members(stdin_archive(TREE, SECRETS))
    tree_names = [e.name for e in entries if e.name.startswith("tree/")]
    assert tree_names == sorted(tree_names)
    for entry in entries:
        assert entry.isfile()
        assert (entry.uid, entry.gid, entry.uname, entry.gname, entry.mtime) == (0, 0, "", "", 0)
        assert entry.mode == (0o600 if entry.name.startswith("secrets/") else 0o644)


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../b", "."])
def test_a_tree_path_outside_the_tree_is_refused(path: str) -> None:
    with pytest.raises(ValueError, match="must be relative and normalised"):
        stdin_archive({path: "x"}, {})


@pytest.mark.parametrize(
    "name", ["", "UPPER", "a/b", "host/../key", "../key", "host/", "key name", "-key"]
)
def test_a_secret_name_that_is_not_a_file_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="must be a file name"):
        stdin_archive({}, {name: "x"})


def test_command_stdin_carries_only_the_commands_own_secrets() -> None:
    loaded = load_stack("example", example_raw_config())
    relay = relay_hosts(loaded.config)[0]
    pipeline = host_pipeline(relay, loaded.config.nixos, TREE, loaded.secrets)
    everything = {**SECRETS, STDIN_DEPLOY_KEY: private_key_file_content("CANARY-key")}
    update = archive_files(command_stdin(pipeline.update, everything))
    # The update logs in with the deploy key but places no secret file.
    assert [p for p in update if p.startswith("secrets/")] == [f"secrets/{STDIN_DEPLOY_KEY}"]
    with pytest.raises(ValueError, match="the update command needs secrets"):
        command_stdin(pipeline.update, SECRETS)


def test_deploy_key_file_ends_in_exactly_one_newline() -> None:
    assert private_key_file_content("KEY") == "KEY\n"
    assert private_key_file_content("KEY\n") == "KEY\n"
