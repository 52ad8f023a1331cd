"""The three contract fakes a credential watch asks, filled the way a deployed stack leaves them.

:func:`healthy` mints what ``pulumi up`` would have: the worker key (10 days old), one spent
single-use key per host, the two Infisical identities with their client secrets, the Proxmox
token; every credential well outside a 14-day window. Tests then move one credential into
the window (or break a service) and back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.config.hosts import host_specs
from infra.config.settings import StackConfig
from infra.tailnet.keys import host_key_spec, worker_key_spec
from tests.support import http_fakes
from tests.support.infisical_fake import InfisicalContractFake
from tests.support.infisical_fake import serve as serve_infisical
from tests.support.proxmox_access_fake import ProxmoxAccessFake
from tests.support.tailscale_keys_fake import TAILNET_OWNED, TailscaleKeysFake

API_KEY_OWNER = "alice@example.org"


@dataclass
class WatchFakes:
    tailscale: TailscaleKeysFake
    infisical: InfisicalContractFake
    proxmox: ProxmoxAccessFake
    worker_key: str
    host_keys: dict[str, str]
    deploy_secret: str
    """The deploy identity's client secret's ID."""
    orchestrator_secret: str
    proxmox_user: str
    proxmox_token: str
    urls: dict[str, str] = field(default_factory=dict)

    def arguments(self) -> list[str]:
        """The watch's URL overrides pointing at the served fakes."""
        return [
            argument for system, url in self.urls.items() for argument in (f"--{system}-url", url)
        ]


def healthy(config: StackConfig, document: dict[str, Any]) -> WatchFakes:
    tailscale = TailscaleKeysFake(config.tailnet.name)
    credentials = document["tailscale"]
    if credentials.get("api_key"):
        tailscale.add_api_key(credentials["api_key"], API_KEY_OWNER, days=90, age_days=10)
        owner = API_KEY_OWNER
    else:
        tailscale.add_oauth_client(
            credentials["oauth_client_id"], credentials["oauth_client_secret"], ["auth_keys"]
        )
        owner = TAILNET_OWNED
    worker = worker_key_spec(config)
    worker_key = tailscale.add_auth_key(
        worker.description,
        list(worker.tags),
        owner=owner,
        reusable=True,
        ephemeral=True,
        age_days=10,
        expiry_days=worker.expiry_seconds / 86_400,
    )
    host_keys = {}
    for host in host_specs(config):
        spec = host_key_spec(config, host)
        host_keys[host.name] = tailscale.add_auth_key(
            spec.description,
            list(spec.tags),
            owner=owner,
            age_days=30,
            expiry_days=spec.expiry_seconds / 86_400,
        )
        tailscale.use(host_keys[host.name])

    infisical = InfisicalContractFake()
    deploy_id = config.infisical.deploy_identity_id or ""
    orchestrator_id = config.infisical.orchestrator_identity_id or ""
    infisical.add_identity(document["infisical"]["client_id"], identity_id=deploy_id)
    deploy_secret = infisical.add_client_secret(
        deploy_id,
        document["infisical"]["client_secret"],
        ttl=180 * 86_400,
        age_seconds=30 * 86_400,
        description="deploy",
    )
    client_id, _, secret = document["orchestrator"]["infisical_token"].partition(":")
    infisical.add_identity(client_id, identity_id=orchestrator_id)
    orchestrator_secret = infisical.add_client_secret(
        orchestrator_id, secret, uses=40, age_seconds=20 * 86_400, description="orchestrator"
    )
    infisical.grant_identity_read(deploy_id, deploy_id)
    infisical.grant_identity_read(deploy_id, orchestrator_id)

    proxmox = ProxmoxAccessFake()
    token_id, _, token_secret = document["proxmox"]["api_token"].partition("=")
    user, _, name = token_id.partition("!")
    year = int((datetime.now(UTC) + timedelta(days=365)).timestamp())
    proxmox.add_token(user, name, token_secret, expire=year)
    return WatchFakes(
        tailscale,
        infisical,
        proxmox,
        worker_key,
        host_keys,
        deploy_secret,
        orchestrator_secret,
        user,
        name,
    )


@contextmanager
def served(fakes: WatchFakes) -> Iterator[WatchFakes]:
    with ExitStack() as running:
        fakes.urls = {
            "tailscale": running.enter_context(http_fakes.serve(fakes.tailscale.handle)),
            "infisical": running.enter_context(serve_infisical(fakes.infisical)),
            "proxmox": running.enter_context(http_fakes.serve(fakes.proxmox.handle)),
        }
        yield fakes
