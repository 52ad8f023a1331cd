"""Checks a deployed stack from the outside: its inventory, /healthz and the testinfra run."""
