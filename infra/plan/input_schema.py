"""Check every declared resource's inputs against the installed provider SDKs' input types.

A real provider refuses an input it does not declare, or a value of the wrong kind, only
at ``pulumi up``; the mock engine echoes anything back. This check makes the offline plan
as strict as the providers: the names (wire names, e.g. ``networkDevices``) and value kinds
come from the SDK classes themselves (``@pulumi.input_type`` ``*Args`` classes and their
``@pulumi.getter(name=...)`` properties), so upgrading an SDK updates the schema.
"""

from __future__ import annotations

import collections.abc
import difflib
import enum
import functools
import json
import re
import sys
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

# Importing the SDKs registers their resource modules (type token → class).
import pulumi_command  # noqa: F401
import pulumi_proxmoxve  # noqa: F401
import pulumi_tailscale  # noqa: F401
import pulumi_tls  # noqa: F401
import pulumiverse_time  # noqa: F401
from pulumi import _types as pulumi_types
from pulumi.output import Output, Unknown
from pulumi.runtime import rpc

from infra.ground.contract import INFISICAL_SECRET_TYPE
from infra.infisical.provider import InfisicalSecret
from infra.plan.input_errors import InputSchemaError

PROVIDER_PREFIX = "pulumi:providers:"
# Inputs the engine adds to every provider resource, whatever its schema says.
_ENGINE_PROVIDER_INPUTS = frozenset({"version", "pluginDownloadURL"})
# Inputs the Python SDK adds to dynamic providers (pickled implementation).
_INTERNAL_INPUTS = frozenset({"__provider"})


@dataclass(frozen=True)
class DeclaredResource:
    """What the check needs from a recorded resource: its type token, name and inputs."""

    type: str
    name: str
    inputs: Mapping[str, Any]
    secret_outputs: tuple[str, ...] = ()
    """``additional_secret_outputs``: each must name one of the resource's properties."""
    ignored_changes: tuple[str, ...] = ()
    """``ignore_changes`` paths: each must start at one of the resource's properties."""


def check_resources(resources: Iterable[DeclaredResource]) -> None:
    """Raise :class:`InputSchemaError` listing every input a provider would refuse."""
    problems: list[str] = []
    for resource in resources:
        problems += resource_problems(resource)
    if problems:
        raise InputSchemaError(problems)


def resource_problems(resource: DeclaredResource) -> list[str]:
    args_class = args_class_for(resource.type)
    if args_class is None:
        if _is_component(resource.type):
            return []  # components have no provider schema; their children are checked
        return [
            f"{resource.type} {resource.name!r}: no installed provider SDK declares this type "
            "(install its SDK or fix the type token)"
        ]
    is_provider = resource.type.startswith(PROVIDER_PREFIX)
    inputs = {
        key: value
        for key, value in resource.inputs.items()
        if key not in _INTERNAL_INPUTS and not (is_provider and key in _ENGINE_PROVIDER_INPUTS)
    }
    where = f"{resource.type} {resource.name!r}"
    problems = list(_object_problems(where, "", inputs, args_class, provider_config=is_provider))
    properties = resource_properties(resource.type)
    for option, names in (
        ("additional_secret_outputs", resource.secret_outputs),
        ("ignore_changes", resource.ignored_changes),
    ):
        for name in names:
            top = re.split(r"[.\[]", name, maxsplit=1)[0]
            if top not in properties:
                problems.append(
                    f"{where}: {option} names {name!r}, not a property of the resource"
                    f"{_nearest(top, properties)}"
                )
    return problems


@functools.cache
def resource_properties(type_token: str) -> frozenset[str]:
    """Wire names of the resource's properties (its outputs, which include its inputs)."""
    resource_class = _resource_class(type_token)
    if resource_class is None:
        return frozenset()
    return frozenset(wire for _, wire, _ in pulumi_types._py_properties(resource_class))


@functools.cache
def args_class_for(type_token: str) -> type | None:
    """The ``*Args`` input type of a resource type token, from the SDKs' own registry."""
    resource_class = _resource_class(type_token)
    if resource_class is None:
        return None
    module = sys.modules[resource_class.__module__]
    candidate = getattr(module, f"{resource_class.__name__}Args", None)
    if isinstance(candidate, type) and pulumi_types.is_input_type(candidate):
        return candidate
    return None


# This program's own dynamic resources: no SDK registers them, but their classes declare
# properties and an ``*Args`` input type the way the SDKs' do.
_DYNAMIC_RESOURCES: Mapping[str, type] = {INFISICAL_SECRET_TYPE: InfisicalSecret}


def _resource_class(type_token: str) -> type | None:
    if type_token in _DYNAMIC_RESOURCES:
        return _DYNAMIC_RESOURCES[type_token]
    if type_token.startswith(PROVIDER_PREFIX):
        package = rpc._RESOURCE_PACKAGES.get(type_token.removeprefix(PROVIDER_PREFIX), [])
        for provider_package in package:
            info = getattr(provider_package, "pkg_info", {})
            if info.get("token") == type_token:
                return _class_named(info["fqn"], info["class"])
        return None
    package_name, _, rest = type_token.partition(":")
    module_name = rest.partition(":")[0]
    for resource_module in rpc._RESOURCE_MODULES.get(f"{package_name}:{module_name}", []):
        info = getattr(resource_module, "mod_info", {})
        class_name = info.get("classes", {}).get(type_token)
        if class_name is not None:
            return _class_named(info["fqn"], class_name)
    return None


def _class_named(module_name: str, class_name: str) -> type | None:
    module = sys.modules.get(module_name)
    found = getattr(module, class_name, None) if module is not None else None
    return found if isinstance(found, type) else None


def _is_component(type_token: str) -> bool:
    # This program's own components (relaymd:...) register no provider schema.
    return type_token.split(":", 1)[0] not in rpc._RESOURCE_PACKAGES


@functools.cache
def declared_inputs(args_class: type) -> Mapping[str, Any]:
    """Wire name → declared type (``Optional``/``Input`` already unwrapped by the SDK)."""
    return dict(pulumi_types.input_type_types(args_class))


def _object_problems(
    where: str, path: str, value: Mapping[str, Any], args_class: type, *, provider_config: bool
) -> Iterator[str]:
    fields = declared_inputs(args_class)
    for name, item in sorted(value.items()):
        item_path = f"{path}.{name}" if path else name
        if name not in fields:
            yield (
                f"{where}: input {item_path!r} is not declared by {args_class.__name__}"
                f"{_nearest(name, fields)}"
            )
            continue
        expected = fields[name]
        if provider_config:
            # Provider configuration travels as strings; structured values as JSON text.
            item = _decode_provider_value(item, expected)
        yield from _value_problems(where, item_path, item, expected)


def _decode_provider_value(value: Any, expected: Any) -> Any:
    if isinstance(value, str) and _kind_of_type(expected) != "string":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _nearest(name: str, valid: Iterable[str]) -> str:
    names = sorted(valid)
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
    if close:
        return f"; nearest valid name: {close[0]!r}"
    return "; valid names: " + ", ".join(names)


def _value_problems(where: str, path: str, value: Any, expected: Any) -> Iterator[str]:
    value = _plain(value)
    if value is _UNCHECKABLE or value is None:
        return
    branches = _branches(expected)
    if any(_is_any(branch) for branch in branches):
        return
    results = [list(_branch_problems(where, path, value, branch)) for branch in branches]
    if any(not problems for problems in results):
        return
    # A nested typo must surface as itself: report the branch whose shape the value has.
    shaped = [
        problems
        for branch, problems in zip(branches, results, strict=True)
        if _shape_fits(value, branch)
    ]
    if shaped:
        yield from min(shaped, key=len)
        return
    wanted = " or ".join(_describe(branch) for branch in branches)
    yield f"{where}: input {path!r} is {_describe_value(value)}; the provider declares {wanted}"


def _shape_fits(value: Any, expected: Any) -> bool:
    kind = _kind_of_type(expected)
    if kind in ("object", "map"):
        return isinstance(value, Mapping)
    if kind == "list":
        return isinstance(value, list | tuple)
    return not isinstance(value, Mapping | list | tuple)


def _branch_problems(where: str, path: str, value: Any, expected: Any) -> Iterator[str]:
    kind = _kind_of_type(expected)
    mismatch = (
        f"{where}: input {path!r} is {_describe_value(value)}; "
        f"the provider declares {_describe(expected)}"
    )
    if kind == "object":
        if not isinstance(value, Mapping):
            yield mismatch
            return
        yield from _object_problems(where, path, value, expected, provider_config=False)
    elif kind == "list":
        if not isinstance(value, list | tuple):
            yield mismatch
            return
        (element,) = typing.get_args(expected)[:1] or (Any,)
        for index, item in enumerate(value):
            yield from _value_problems(where, f"{path}[{index}]", item, element)
    elif kind == "map":
        if not isinstance(value, Mapping):
            yield mismatch
            return
        element = typing.get_args(expected)[1] if len(typing.get_args(expected)) == 2 else Any
        for key, item in sorted(value.items()):
            yield from _value_problems(where, f"{path}.{key}", item, element)
    elif not _scalar_fits(kind, value, expected):
        yield mismatch


def _scalar_fits(kind: str, value: Any, expected: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "integer":
        # The wire format carries every number as a float.
        return _is_number(value) and float(value).is_integer()
    if kind == "number":
        return _is_number(value)
    if kind == "enum":
        allowed = {member.value for member in expected}
        return value in allowed
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_UNCHECKABLE = object()


def _plain(value: Any) -> Any:
    """Unwrap secrets; values only known after apply cannot be checked offline."""
    if rpc.is_rpc_secret(value):
        return _plain(value["value"])
    if isinstance(value, Unknown) or value == rpc.UNKNOWN or isinstance(value, Output):
        return _UNCHECKABLE
    if isinstance(value, Mapping) and rpc._special_sig_key in value:
        return _UNCHECKABLE  # assets, archives and resource references
    return value


def _branches(expected: Any) -> list[Any]:
    """The alternatives of an ``Input[...]`` union that a plain value can take."""
    origin = typing.get_origin(expected)
    if origin is typing.Union or origin is types.UnionType:
        branches: list[Any] = []
        for argument in typing.get_args(expected):
            branches += _branches(argument)
        return branches or [Any]
    if expected is type(None) or _is_awaitable_or_output(expected) or _is_typed_dict(expected):
        return []
    return [expected]


def _is_awaitable_or_output(expected: Any) -> bool:
    origin = typing.get_origin(expected) or expected
    return origin in (collections.abc.Awaitable, Output)


def _is_typed_dict(expected: Any) -> bool:
    # ``*ArgsDict`` TypedDicts mirror the ``*Args`` classes under Python names.
    return isinstance(expected, type) and typing.is_typeddict(expected)


def _is_any(expected: Any) -> bool:
    return expected is Any or expected is object


def _kind_of_type(expected: Any) -> str:
    origin = typing.get_origin(expected)
    if isinstance(expected, type) and pulumi_types.is_input_type(expected):
        return "object"
    if isinstance(expected, type) and issubclass(expected, enum.Enum):
        return "enum"
    if origin in (collections.abc.Sequence, list, tuple):
        return "list"
    if origin in (collections.abc.Mapping, dict):
        return "map"
    simple = {str: "string", bool: "bool", int: "integer", float: "number"}
    return simple.get(expected, "any") if isinstance(expected, type) else "any"


def _describe(expected: Any) -> str:
    kind = _kind_of_type(expected)
    if kind == "object":
        return f"an object ({expected.__name__})"
    if kind == "enum":
        return "one of " + ", ".join(repr(member.value) for member in expected)
    return {
        "list": "a list",
        "map": "a map",
        "string": "a string",
        "bool": "a boolean",
        "integer": "a whole number",
        "number": "a number",
    }.get(kind, "any value")


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if _is_number(value):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__
