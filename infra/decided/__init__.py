"""The decided stack: one pure value holding every decision (no Pulumi, no I/O)."""
