"""A Pulumi dynamic provider for one Infisical secret, on Infisical's SDK.

Behaviour follows the Infisical Terraform provider's ``infisical_secret``
(Infisical/terraform-provider-infisical v0.19.24, internal/provider/resource/secret_resource.go):
a change of project, environment or path replaces the secret (``RequiresReplace``), a new
name renames it in place (``newSecretName``), refresh reads it by id and a 404 drops it
from state so the next ``pulumi up`` recreates it. Beyond that provider, a secret that
already exists is adopted instead of failing the create.

Secret values: the Python dynamic-provider host serialises outputs as they are returned
(pulumi 3.272, pulumi/dynamic/__main__.py: ``rpc.serialize_properties(outs, {})``) and
tells the engine it does not accept secrets, so a plain string in ``outs`` would reach the
checkpoint as plain text. Every value this provider returns is therefore wrapped in
Pulumi's secret envelope, and the resource also names it in ``additional_secret_outputs``.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)
from pulumi.runtime.rpc import UNKNOWN, unwrap_rpc_secret, wrap_rpc_secret

from infra.infisical.api import Identity, LiveSecret, RetryPolicy, SecretsApi, SecretScope
from infra.infisical.values import stored_form

NAME, ENVIRONMENT, PATH, PROJECT, VALUE = (
    "secret_name",
    "environment_slug",
    "secret_path",
    "project_id",
    "secret_value",
)
REPLACING = (PROJECT, ENVIRONMENT, PATH)
"""Inputs whose change replaces the secret (the Terraform provider's ``RequiresReplace``)."""


def _plain(props: Mapping[str, Any], key: str) -> Any:
    return unwrap_rpc_secret(props.get(key))


def _scope(props: Mapping[str, Any]) -> SecretScope:
    return SecretScope(str(props[PROJECT]), str(props[ENVIRONMENT]), str(props[PATH]))


def secret_outputs(live: LiveSecret) -> dict[str, Any]:
    """What the engine records: coordinates in clear, the value only inside a secret envelope."""
    return {
        NAME: live.name,
        ENVIRONMENT: live.scope.environment_slug,
        PATH: live.scope.secret_path,
        PROJECT: live.scope.project_id,
        VALUE: wrap_rpc_secret(live.value),
    }


def input_failures(news: Mapping[str, Any]) -> list[CheckFailure]:
    failures = []
    for key in (NAME, ENVIRONMENT, PATH, PROJECT):
        value = _plain(news, key)
        if value is UNKNOWN:
            continue
        if not isinstance(value, str) or not value.strip():
            failures.append(CheckFailure(key, f"{key} must be a non-empty string"))
    path = _plain(news, PATH)
    if isinstance(path, str) and path and not path.startswith("/"):
        failures.append(CheckFailure(PATH, f"secret_path must start with '/', got {path!r}"))
    value = _plain(news, VALUE)
    if value is not UNKNOWN and not isinstance(value, str):
        failures.append(CheckFailure(VALUE, "secret_value must be a string"))
    return failures


def secret_diff(olds: Mapping[str, Any], news: Mapping[str, Any]) -> DiffResult:
    """Compare wanted inputs with recorded outputs; values compare in their stored form."""
    replaces = [key for key in REPLACING if _plain(olds, key) != _plain(news, key)]
    changed = list(replaces)
    if _plain(olds, NAME) != _plain(news, NAME):
        changed.append(NAME)
    wanted = _plain(news, VALUE)
    if wanted is UNKNOWN or stored_form(str(wanted)) != _plain(olds, VALUE):
        changed.append(VALUE)
    return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)


class InfisicalSecretProvider(ResourceProvider):
    """CRUD for one secret; each operation logs in afresh (a provider outlives no token)."""

    def __init__(self, identity: Identity, retry: RetryPolicy = RetryPolicy()) -> None:  # noqa: B008
        super().__init__()
        self.identity = identity
        self.retry = retry

    def _api(self) -> SecretsApi:
        return SecretsApi(self.identity, self.retry)

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, input_failures(news))

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return secret_diff(olds, news)

    def create(self, props: dict[str, Any]) -> CreateResult:
        with self._api() as api:
            live = api.create(_scope(props), str(props[NAME]), str(_plain(props, VALUE)))
        return CreateResult(live.id, secret_outputs(live))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        with self._api() as api:
            live = api.read_by_id(id_)
        if live is None:
            return ReadResult(None, {})  # gone: dropped from state, recreated on the next up
        return ReadResult(live.id, secret_outputs(live))

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        with self._api() as api:
            live = api.update(
                _scope(news), str(olds[NAME]), str(news[NAME]), str(_plain(news, VALUE))
            )
        return UpdateResult(secret_outputs(live))

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        with self._api() as api:
            api.delete(_scope(props), str(props[NAME]))


@contextmanager
def _pickler_restored() -> Iterator[None]:
    """Undo what serialising a dynamic provider leaves behind in ``pickle``.

    pulumi 3.272's ``serialize_provider`` (pulumi/dynamic/dynamic.py) replaces
    ``pickle._Pickler._batch_setitems`` and ``save_dict`` with wrappers around the current
    ones and never puts them back, so each dynamic resource nests one more wrapper: a
    process declaring a few hundred of them (the test suite) hits RecursionError.
    """
    pickler = pickle._Pickler
    saved = (pickler._batch_setitems, pickler.save_dict)  # type: ignore[attr-defined]
    try:
        yield
    finally:
        pickler._batch_setitems, pickler.save_dict = saved  # type: ignore[attr-defined]


@pulumi.input_type
class InfisicalSecretArgs:
    """The five inputs; ``secret_value`` is made a Pulumi secret whatever it arrives as."""

    def __init__(
        self,
        *,
        secret_name: pulumi.Input[str],
        environment_slug: pulumi.Input[str],
        secret_path: pulumi.Input[str],
        project_id: pulumi.Input[str],
        secret_value: pulumi.Input[str],
    ) -> None:
        pulumi.set(self, NAME, secret_name)
        pulumi.set(self, ENVIRONMENT, environment_slug)
        pulumi.set(self, PATH, secret_path)
        pulumi.set(self, PROJECT, project_id)
        pulumi.set(self, VALUE, secret_value)

    @property
    @pulumi.getter(name=NAME)
    def secret_name(self) -> pulumi.Input[str]:
        return pulumi.get(self, NAME)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=ENVIRONMENT)
    def environment_slug(self) -> pulumi.Input[str]:
        return pulumi.get(self, ENVIRONMENT)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=PATH)
    def secret_path(self) -> pulumi.Input[str]:
        return pulumi.get(self, PATH)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=PROJECT)
    def project_id(self) -> pulumi.Input[str]:
        return pulumi.get(self, PROJECT)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=VALUE)
    def secret_value(self) -> pulumi.Input[str]:
        return pulumi.get(self, VALUE)  # type: ignore[no-any-return]


class InfisicalSecret(Resource, module="infisical", name="Secret"):
    """One secret in Infisical (its type token is contract.INFISICAL_SECRET_TYPE).

    Its properties are declared as the provider SDKs declare theirs, so the plan's input
    check knows them like any other resource's.
    """

    def __init__(
        self,
        name: str,
        args: InfisicalSecretArgs,
        provider: InfisicalSecretProvider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            NAME: args.secret_name,
            ENVIRONMENT: args.environment_slug,
            PATH: args.secret_path,
            PROJECT: args.project_id,
            VALUE: pulumi.Output.secret(args.secret_value),
        }
        secret_only = pulumi.ResourceOptions(additional_secret_outputs=[VALUE])
        with _pickler_restored():
            super().__init__(provider, name, props, pulumi.ResourceOptions.merge(opts, secret_only))

    @property
    @pulumi.getter(name=NAME)
    def secret_name(self) -> pulumi.Output[str]:
        return pulumi.get(self, NAME)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=ENVIRONMENT)
    def environment_slug(self) -> pulumi.Output[str]:
        return pulumi.get(self, ENVIRONMENT)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=PATH)
    def secret_path(self) -> pulumi.Output[str]:
        return pulumi.get(self, PATH)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=PROJECT)
    def project_id(self) -> pulumi.Output[str]:
        return pulumi.get(self, PROJECT)  # type: ignore[no-any-return]

    @property
    @pulumi.getter(name=VALUE)
    def secret_value(self) -> pulumi.Output[str]:
        return pulumi.get(self, VALUE)  # type: ignore[no-any-return]
