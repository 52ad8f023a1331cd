"""Rendering a host's configuration.nix from the Jinja template.

Undefined names fail loudly (StrictUndefined), and the environment refuses to print
any value that did not pass through the ``nix`` filter, so nothing reaches the file
unescaped.
"""

from __future__ import annotations

from functools import cache

import jinja2

from infra.config.hosts import Host
from infra.config.settings import StackConfig
from infra.ground.nix_escape import NixLiteral, nix_value
from infra.nixos.host_values import host_values


class UnescapedValueError(TypeError):
    """A template printed a value without the ``nix`` filter."""


def _only_escaped(value: object) -> object:
    if not isinstance(value, NixLiteral):
        raise UnescapedValueError(
            f"template printed {value!r} without the nix filter; write {{{{ value | nix }}}}"
        )
    return value


def _nix_filter(value: object) -> NixLiteral:
    if isinstance(value, jinja2.Undefined):
        str(value)  # StrictUndefined raises UndefinedError naming the missing value
    return nix_value(value)


@cache
def template_environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        finalize=_only_escaped,
        autoescape=False,  # noqa: S701 - output is Nix, escaped by the nix filter instead
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["nix"] = _nix_filter
    return environment


@cache
def _compiled(template: str) -> jinja2.Template:
    # Compiled once per text: every host of a stack shares one template.
    return template_environment().from_string(template)


def render_host_configuration(config: StackConfig, host: Host, template: str) -> str:
    return _compiled(template).render(host_values(config, host))
