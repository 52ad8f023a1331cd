"""The plan.json contract: sorted, stable, secrets masked, computed values marked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi.output import Unknown
from pulumi.runtime import rpc

from infra.ground.contract import KNOWN_AFTER_APPLY, SECRET_MASK, json_text
from infra.plan.engine import Deployment

# Dynamic providers carry their pickled implementation in this input: not reviewable data.
_INTERNAL_INPUTS = frozenset({"__provider"})


def plan_value(value: Any) -> Any:
    """Map an engine value to plain JSON, masking secrets before anything else sees them."""
    if rpc.is_rpc_secret(value):
        return SECRET_MASK
    if isinstance(value, Unknown) or value == rpc.UNKNOWN:
        return KNOWN_AFTER_APPLY
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format turns every number into a float
    if isinstance(value, dict):
        return {str(key): plan_value(item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [plan_value(item) for item in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _parent_name(parent_urn: str | None) -> str | None:
    if parent_urn is None or "::pulumi:pulumi:Stack::" in parent_urn:
        return None
    return parent_urn.rsplit("::", 1)[-1]


def plan_document(deployment: Deployment) -> dict[str, Any]:
    resources = [
        {
            "type": resource.type,
            "name": resource.name,
            "parent": _parent_name(resource.parent_urn),
            "inputs": plan_value(
                {
                    key: value
                    for key, value in resource.inputs.items()
                    if key not in _INTERNAL_INPUTS
                }
            ),
        }
        for resource in deployment.resources
    ]
    resources.sort(key=lambda entry: (entry["type"], entry["name"]))
    outputs = {
        name: SECRET_MASK
        if output.secret
        else (plan_value(output.value) if output.known else KNOWN_AFTER_APPLY)
        for name, output in sorted(deployment.outputs.items())
    }
    return {"stack": deployment.stack, "resources": resources, "outputs": outputs}


def plan_json(deployment: Deployment) -> str:
    return plan_text(plan_document(deployment))


def plan_text(document: Mapping[str, Any]) -> str:
    """plan.json's text for a document :func:`plan_document` built."""
    return json_text(document)
