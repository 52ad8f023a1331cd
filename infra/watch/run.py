"""One watch of a loaded stack: the three services asked side by side, read-only."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from pydantic import BaseModel, SecretStr

from infra.config.loading import LoadedStack
from infra.config.secrets import StackSecrets, split_infisical_token
from infra.watch.infisical import watch_infisical
from infra.watch.model import SourceResult, SourceStatus, System, Watch
from infra.watch.options import WatchOptions
from infra.watch.proxmox import watch_proxmox
from infra.watch.tailscale import watch_tailscale


def secret_values(secrets: StackSecrets) -> tuple[str, ...]:
    """Every secret value of the SOPS file, and the secret halves of the compound ones (the
    orchestrator's ``<client_id>:<client_secret>``, the Proxmox ``…=<secret>``): what a
    report must never show, whoever quoted it."""
    values: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, SecretStr):
            values.append(node.get_secret_value())
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                walk(getattr(node, name))
        elif isinstance(node, dict):
            for item in node.values():
                walk(item)

    walk(secrets)
    values.append(split_infisical_token(secrets.orchestrator.infisical_token.get_secret_value())[1])
    if secrets.proxmox is not None:
        values.append(secrets.proxmox.api_token.get_secret_value().rpartition("=")[2])
    return tuple(values)


def watch_stack(stack: LoadedStack, options: WatchOptions, skip: Collection[System] = ()) -> Watch:
    config, secrets = stack.config, stack.secrets
    asks: dict[System, Callable[[], SourceResult]] = {
        System.TAILSCALE: lambda: watch_tailscale(config, secrets.tailscale, options),
        System.INFISICAL: lambda: watch_infisical(config.infisical, secrets, options),
        System.PROXMOX: lambda: watch_proxmox(config.proxmox, secrets.proxmox, options),
    }
    with ThreadPoolExecutor(max_workers=len(asks), thread_name_prefix="watch") as pool:
        running = {system: pool.submit(ask) for system, ask in asks.items() if system not in skip}
        results = tuple(_in_order(running, skip))
    return Watch(config.stack, options.now, options.window_days, results)


def _in_order(
    running: dict[System, Future[SourceResult]], skip: Collection[System]
) -> Iterator[SourceResult]:
    for system in System:
        if system in skip:
            yield SourceResult(system, SourceStatus.SKIPPED, message="--skip")
        else:
            yield running[system].result()
