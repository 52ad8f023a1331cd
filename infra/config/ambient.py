"""What the Tailscale provider reads besides its explicit configuration. Pure: no I/O.

Facts from terraform-provider-tailscale v0.29.2 (tailscale/provider_framework.go, the
provider pulumi-tailscale 0.29.x bridges): every credential field that is null falls back
to the environment variables below, and a value starting with ``file:`` is read from that
file on the deploying machine.
"""

from __future__ import annotations

from collections.abc import Mapping

AMBIENT_VARIABLES = (
    "TAILSCALE_API_KEY",
    "TAILSCALE_TAILNET",
    "TAILSCALE_BASE_URL",
    "TAILSCALE_OAUTH_CLIENT_ID",
    "TAILSCALE_OAUTH_CLIENT_SECRET",
    "OAUTH_CLIENT_ID",
    "OAUTH_CLIENT_SECRET",
    "TAILSCALE_IDENTITY_TOKEN",
    "IDENTITY_TOKEN",
    "TAILSCALE_AUDIENCE",
)
"""Variables the provider falls back to (provider_framework.go, Configure)."""

API_BASE_URL = "https://api.tailscale.com"
"""The provider's default base_url, set explicitly so TAILSCALE_BASE_URL cannot redirect it."""

FILE_PREFIX = "file:"
"""A credential starting with this is a path the provider reads (resolveValueFromFile)."""


def ambient_overrides(environment: Mapping[str, str]) -> list[str]:
    """The provider's fallback variables that are set (even to empty) in ``environment``."""
    return [name for name in AMBIENT_VARIABLES if name in environment]
