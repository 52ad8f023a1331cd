"""A local RelayMD topology built from network namespaces, for the testinfra suite.

It stands in for the real hosts: the orchestrator, a relay and two workers on a tailnet
segment (``tailscale0``, 100.64.0.0/10 addresses), a LAN segment, firewalls derived from
the rendered policy and NixOS configuration, and stand-ins for tailscaled, the tailscale
CLI, systemctl and RelayMD's ``/healthz``. See docs/testing.md, "The namespaced topology".
"""
