"""Pulumi's mock engine, extended to record what the program declares, and the one way a plan
sets it up and runs a program under it (:func:`run_mocked`).

The stock MockMonitor drops each resource's parent; the plan contract needs it.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import settings
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockCallArgs, MockEngine, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from infra.ground.project import PROJECT
from infra.plan.fakes import CONTRACT_FAKES

ResourceOutputs = Callable[[MockResourceArgs], Mapping[str, Any]]
CallResults = Callable[[MockCallArgs], Mapping[str, Any]]


@dataclass
class RecordedResource:
    urn: str
    type: str
    name: str
    parent_urn: str | None
    custom: bool
    inputs: dict[str, Any]
    dependencies: tuple[str, ...] = ()
    """URNs the resource waits for: explicit depends_on plus those its inputs come from."""
    ignore_changes: tuple[str, ...] = ()
    replacement_trigger: Any = None
    """The ``replacement_trigger`` option's value: a change replaces the resource."""
    replace_on_changes: tuple[str, ...] = ()
    replace_with: tuple[str, ...] = ()
    """URNs whose replacement also replaces this resource."""
    delete_before_replace: bool = False
    alias_parents: tuple[str, ...] = ()
    """URNs of former parents the resource is aliased to: its state carries over from there."""
    retain_on_delete: bool = False
    """Deleting (or replacing) it only forgets it: the provider's delete is never called."""
    additional_secret_outputs: tuple[str, ...] = ()


@dataclass
class PlanMocks(Mocks):
    """Echo inputs back as outputs; leave everything else to the provider (unknown in preview).

    ``resource_outputs`` and ``call_results`` let a test play the provider's part
    (e.g. return a canary auth key) for a given type or function token.
    """

    preview: bool
    resource_outputs: Mapping[str, ResourceOutputs] = field(default_factory=dict)
    call_results: Mapping[str, CallResults] = field(default_factory=dict)
    calls: list[MockCallArgs] = field(default_factory=list)

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        outputs = dict(args.inputs)
        extra = self.resource_outputs.get(args.typ)
        if extra is not None:
            outputs.update(extra(args))
        # An empty id in preview marks it unknown, as the real engine does before create.
        resource_id = "" if self.preview else f"{args.name}-id"
        return resource_id, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append(args)
        results = self.call_results.get(args.token) or CONTRACT_FAKES.get(args.token)
        # MockMonitor iterates the failures list: an empty list, never None.
        return (dict(results(args)) if results else {}), []


class RecordingMonitor(MockMonitor):
    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: list[RecordedResource] = []
        self._lock = threading.Lock()

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, response.urn)
        return response

    def _record(self, request: Any, urn: str) -> None:
        from pulumi.runtime import rpc

        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        trigger = None
        if request.HasField("replacement_trigger"):
            from google.protobuf import struct_pb2

            # A lone protobuf Value: wrap it so the SDK's own decoding (unknowns, secrets) applies.
            holder = struct_pb2.Struct()
            holder.fields["trigger"].CopyFrom(request.replacement_trigger)
            trigger = rpc.deserialize_properties(holder, keep_unknowns=True).get("trigger")
        with self._lock:
            self.recorded.append(
                RecordedResource(
                    urn=urn,
                    type=request.type,
                    name=request.name,
                    parent_urn=request.parent or None,
                    custom=bool(request.custom),
                    inputs=inputs,
                    dependencies=tuple(request.dependencies),
                    ignore_changes=tuple(request.ignoreChanges),
                    replacement_trigger=trigger,
                    replace_on_changes=tuple(request.replaceOnChanges),
                    replace_with=tuple(request.replace_with),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    alias_parents=_alias_parents(request),
                    retain_on_delete=bool(request.retainOnDelete),
                    additional_secret_outputs=tuple(request.additionalSecretOutputs),
                )
            )


def _alias_parents(request: Any) -> tuple[str, ...]:
    # An alias is a full URN or a spec whose parent is a URN (or "no parent").
    return tuple(
        alias.spec.parentUrn
        for alias in request.aliases
        if alias.WhichOneof("alias") == "spec" and alias.spec.WhichOneof("parent") == "parentUrn"
    )


class PlanEngine(MockEngine):
    """The stock MockEngine lacks the RequirePulumiVersion RPC the program calls first.

    There is no CLI in a plan: record the range asked for (so tests can see it) and accept,
    as the engine does when its version is inside the range (Empty response).
    """

    def __init__(self) -> None:
        super().__init__(None)
        self.required_versions: list[str] = []

    def RequirePulumiVersion(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        from google.protobuf import empty_pb2

        self.required_versions.append(request.pulumi_version_range)
        return empty_pb2.Empty()


def run_mocked(
    stack: str,
    mocks: PlanMocks,
    program: Callable[[], Awaitable[None] | None],
    config: Mapping[str, str] | None = None,
) -> tuple[RecordingMonitor, PlanEngine]:
    """Run ``program`` under Pulumi's mock engine with ``config`` (``<project>:<key>`` → text),
    recording what it declares.

    The plan runs the program this way, and ``scripts/bench``'s engine floor runs bare
    resources the same way, so the two differ only in what is declared.
    """
    monitor = RecordingMonitor(mocks)
    # Each run starts from a clean runtime so runs in one process cannot leak into each other.
    settings.ROOT.set(None)
    set_all_config(dict(config or {}))
    pulumi.runtime.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=mocks.preview, monitor=monitor
    )
    engine = PlanEngine()
    settings.SETTINGS.engine = engine
    # set_mocks keeps the previous run's pending outputs; a failed run would re-raise
    # its error in the next one.
    settings.SETTINGS.outputs.clear()
    _sync_await(run_pulumi_func(program))
    return monitor, engine
