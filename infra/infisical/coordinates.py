"""Where stock RelayMD reads Infisical (pure constants).

RelayMD 0.2.21 hard-codes these in every component instead of reading settings
(src/relaymd/orchestrator/config.py, packages/relaymd-worker/.../bootstrap.py,
src/relaymd/cli/config.py, src/relaymd/dashboard_proxy_main.py): secrets written
anywhere else are invisible to it.
"""

from __future__ import annotations

RELAYMD_SITE_URL = "https://app.infisical.com"
RELAYMD_PROJECT_ID = "dcf29082-7972-4bca-be58-363f6ad969c0"
RELAYMD_ENVIRONMENT = "prod"
RELAYMD_SECRET_PATH = "/RelayMD"

RELAYMD_COORDINATES: dict[str, str] = {
    "site_url": RELAYMD_SITE_URL,
    "project_id": RELAYMD_PROJECT_ID,
    "environment": RELAYMD_ENVIRONMENT,
    "secret_path": RELAYMD_SECRET_PATH,
}
"""Setting name under ``infisical`` → the value stock RelayMD uses."""
