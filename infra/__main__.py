"""Entry point for `pulumi up` / `pulumi preview` (Pulumi.yaml: main: infra/)."""

import sys
from pathlib import Path

# Pulumi runs this file by path; make the project root importable as `infra`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from infra.program.program import main

main()
