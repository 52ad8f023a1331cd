"""The pickled provider works where Pulumi runs it: a fresh interpreter in the program's directory.

Pulumi starts the dynamic-provider host with the program directory (``main: infra/``) as its
working directory; unpickling the provider must still find this package (the venv's
``relaymd-infra.pth``, written by scripts/lib/bootstrap.sh) and reach Infisical.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pulumi.dynamic.dynamic import serialize_provider

from infra.ground.project import PROJECT_ROOT
from infra.infisical.provider import InfisicalSecretProvider
from tests.unit.infisical.support import FAST_RETRY, PROJECT_ID, running_fake

# What the host does with the __provider property (pulumi/dynamic/__main__.py, get_provider).
HOST = """
import base64, json, sys
import dill
provider = dill.loads(base64.b64decode(sys.stdin.read()))
created = provider.create(json.loads(sys.argv[1]))
print(created.id)
"""


def test_a_fresh_interpreter_in_the_program_directory_runs_the_provider() -> None:
    site = subprocess.run(
        [sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    link = f"{site}/relaymd-infra.pth"
    try:
        with open(link) as handle:
            linked = handle.read().strip()
    except FileNotFoundError:
        pytest.skip(f"{link} is missing: run scripts/test, which writes it")
    assert linked == str(PROJECT_ROOT)
    with running_fake() as infisical:
        pickled = serialize_provider(InfisicalSecretProvider(infisical.identity, FAST_RETRY))
        props = {
            "secret_name": "AXIOM_TOKEN",
            "environment_slug": "prod",
            "secret_path": "/RelayMD",
            "project_id": PROJECT_ID,
            "secret_value": "CANARY-from-the-host",
        }
        ran = subprocess.run(
            [sys.executable, "-c", HOST, json.dumps(props)],
            input=pickled,
            capture_output=True,
            text=True,
            cwd=PROJECT_ROOT / "infra",
            env={"PATH": "/usr/bin:/bin"},
            timeout=60,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        stored = infisical.fake.secrets_at(PROJECT_ID, "prod", "/RelayMD")
        assert stored == {"AXIOM_TOKEN": "CANARY-from-the-host"}
        assert "CANARY" not in ran.stdout + ran.stderr
