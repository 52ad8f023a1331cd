"""A readable table of the plan for a terminal."""

from __future__ import annotations

from typing import Any

from infra.ground.contract import COMPONENT_TYPE_PREFIX, KNOWN_AFTER_APPLY, SECRET_MASK

MAX_INPUTS_SHOWN = 14
MAX_VALUE_WIDTH = 90


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and not value:
        return []  # components register no inputs: nothing to show
    if isinstance(value, dict):
        pairs: list[tuple[str, Any]] = []
        for key, item in value.items():
            pairs += _leaves(item, f"{prefix}.{key}" if prefix else key)
        return pairs
    if isinstance(value, list) and value and any(isinstance(item, dict | list) for item in value):
        pairs = []
        for index, item in enumerate(value):
            pairs += _leaves(item, f"{prefix}[{index}]")
        return pairs
    return [(prefix, value)]


def _shown(value: Any) -> str:
    if isinstance(value, str):
        if value in (SECRET_MASK, KNOWN_AFTER_APPLY):
            return value
        if "\n" in value:
            return f"<text: {value.count(chr(10)) + 1} lines>"
        text = value
    else:
        text = repr(value) if not isinstance(value, list) else ", ".join(map(str, value))
        text = f"[{text}]" if isinstance(value, list) else text
    return text if len(text) <= MAX_VALUE_WIDTH else text[: MAX_VALUE_WIDTH - 1] + "…"


def render_report(document: dict[str, Any]) -> str:
    resources = document["resources"]
    type_width = max((len(r["type"]) for r in resources), default=4)
    lines = [f"{'TYPE':<{type_width}}  NAME"]
    secrets = unknowns = 0
    for resource in resources:
        parent = f"   (in {resource['parent']})" if resource["parent"] else ""
        lines.append(f"{resource['type']:<{type_width}}  {resource['name']}{parent}")
        leaves = _leaves(resource["inputs"])
        secrets += sum(1 for _, value in leaves if value == SECRET_MASK)
        unknowns += sum(1 for _, value in leaves if value == KNOWN_AFTER_APPLY)
        for key, value in leaves[:MAX_INPUTS_SHOWN]:
            lines.append(f"{'':<{type_width}}    {key} = {_shown(value)}")
        if len(leaves) > MAX_INPUTS_SHOWN:
            lines.append(
                f"{'':<{type_width}}    … {len(leaves) - MAX_INPUTS_SHOWN} more inputs in plan.json"
            )
    if document["outputs"]:
        lines.append("")
        lines.append("OUTPUTS")
        for name, value in document["outputs"].items():
            lines.append(f"    {name} = {_shown(value)}")
    # Our ComponentResources are typed relaymd:<area>:<Name>; everything else is a provider's.
    components = sum(1 for r in resources if r["type"].startswith(COMPONENT_TYPE_PREFIX))
    lines.append("")
    lines.append(
        f"Plan for stack {document['stack']}: {len(resources)} resources "
        f"({len(resources) - components} provider resources, {components} components), "
        f"{secrets} secret inputs masked, {unknowns} values known after apply, "
        f"{len(document['outputs'])} outputs."
    )
    return "\n".join(lines)
