"""The policy as the HuJSON document Tailscale receives, one short comment per entry."""

from __future__ import annotations

from typing import Any

from infra.ground import hujson
from infra.ground.hujson import Commented
from infra.tailnet.policy import Policy

HEADER = (
    "RelayMD tailnet policy, rendered by relaymd-infra from the stack config.",
    "Do not edit by hand: the Acl resource owns the whole policy and overwrites edits.",
    "Anything not accepted below is denied.",
)


def policy_document(policy: Policy) -> dict[str, Any]:
    document: dict[str, Any] = {
        "tagOwners": {
            owned.tag: Commented(
                list(owned.owners), f"{owned.purpose} Only these owners may mint its keys."
            )
            for owned in policy.tag_owners
        },
        "acls": [
            Commented(
                {
                    "action": "accept",
                    "src": list(rule.src),
                    **({"proto": rule.proto} if rule.proto else {}),
                    "dst": list(rule.dst),
                },
                f"{rule.name}: {rule.comment}",
            )
            for rule in policy.acls
        ],
    }
    if policy.route_approvers:
        document["autoApprovers"] = {
            "routes": {
                route: Commented(list(approvers), "Relays advertise this route without a click.")
                for route, approvers in policy.route_approvers
            }
        }
    document["tests"] = [
        Commented(
            {
                "src": test.src,
                **({"accept": [e.dst for e in test.accept]} if test.accept else {}),
                **({"deny": [e.dst for e in test.deny]} if test.deny else {}),
            },
            test.comment,
        )
        for test in policy.tests
    ]
    return document


def render_policy(policy: Policy) -> str:
    return hujson.render(policy_document(policy), header=HEADER)
