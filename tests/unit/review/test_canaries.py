"""No secret value reaches a review, in any encoding, in either format."""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import urllib.parse
from pathlib import Path
from typing import Any

from infra.review.review import ReviewRequest, build_review
from infra.review.style import Format
from tests.support.review_stacks import render_files, with_relays
from tests.support.stacks import canary_values, stack_with_secrets


def encodings(value: str) -> set[str]:
    """The forms a leaked value could take in a comment."""
    raw = value.encode()
    return {
        value,
        base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode().rstrip("="),
        binascii.hexlify(raw).decode(),
        binascii.hexlify(raw).decode().upper(),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=True)[1:-1],
        urllib.parse.quote(value, safe=""),
        hashlib.sha256(raw).hexdigest()[:12],
    }


def test_review_shows_no_secret_value(
    canary_document: dict[str, Any], canary_stack: dict[str, Any], tmp_path: Path
) -> None:
    base = render_files(canary_stack)
    # The head also writes a new Infisical secret, moves the others and replaces the
    # worker key, so created, replaced and following secret resources are all reviewed.
    head_document = copy.deepcopy(canary_document)
    head_document["relaymd"]["DOWNLOAD_BEARER_TOKEN"] = "CANARY-relaymd-DOWNLOAD-7f3a9c"
    (tmp_path / "head").mkdir()
    changed = stack_with_secrets(tmp_path / "head", head_document, with_relays(2, canary_stack))
    changed["orchestrator"]["port"] = 9000
    changed["relays"][0]["template_id"] = 117
    changed["keys"]["worker_key_expiry_days"] = 80
    changed["infisical"].update(secret_path="/Elsewhere", custom_relaymd_build=True)
    head = render_files(changed)
    reviews = [
        build_review(base, head, ReviewRequest("canary", "base", fmt, budget))
        for fmt in Format
        for budget in (0, 4_000)
    ]
    assert "[secret]" in reviews[0]  # masked inputs are shown as masked
    assert "`Secret` **infisical-DOWNLOAD_BEARER_TOKEN**" in reviews[0]
    assert (
        "`infisical.secret_path` changed; follows worker-key: its value becomes the new key"
        in reviews[0]
    )
    forbidden = {form for value in canary_values(head_document) for form in encodings(value)}
    for review in reviews:
        leaked = sorted(form for form in forbidden if form in review)
        assert not leaked, f"secret value in a review: {leaked[:3]}"
