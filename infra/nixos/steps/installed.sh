# install, on an installed relay: records the new inputs and changes nothing.
set -euo pipefail
printf '==> %s: %s\n' "$RELAYMD_HOST" \
  "already installed; configuration changes reach it through the update step" >&2
