"""How the watch reaches each service, and what it is judging against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from infra.ground.http import RetryPolicy
from infra.tailnet.api import TAILSCALE_API_URL


@dataclass(frozen=True)
class WatchOptions:
    now: datetime
    window_days: int
    tailscale_url: str = TAILSCALE_API_URL
    infisical_url: str | None = None
    """None: the stack's ``infisical.site_url``."""
    proxmox_url: str | None = None
    """None: the stack's ``proxmox.endpoint``."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)

    @property
    def window(self) -> timedelta:
        return timedelta(days=self.window_days)
