"""Where this checkout is, and the name Pulumi knows the project by."""

from __future__ import annotations

from pathlib import Path

PROJECT = "relaymd-infra"
"""Pulumi.yaml's ``name``: the namespace of every setting in ``Pulumi.<stack>.yaml``."""
PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
"""The checkout: Pulumi.yaml, nixos/, templates/ and secrets/ sit here."""
