"""Rendering a host's configuration.nix from the Jinja template.

Undefined names fail loudly (StrictUndefined), and the environment refuses to print
any value that did not pass through the ``nix`` filter, so nothing reaches the file
unescaped.
"""

from __future__ import annotations

from functools import cache

import jinja2

from infra.decided.hosts import HostSpec
from infra.decided.stack import StackModel
from infra.nixos.host_values import host_values
from infra.nixos.nix_escape import NixLiteral, nix_value
from infra.nixos.sources import TEMPLATES_DIR

TEMPLATE_NAME = "configuration.nix.j2"


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
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        undefined=jinja2.StrictUndefined,
        finalize=_only_escaped,
        autoescape=False,  # noqa: S701 - output is Nix, escaped by the nix filter instead
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.filters["nix"] = _nix_filter
    return environment


def render_host_configuration(model: StackModel, host: HostSpec) -> str:
    template = template_environment().get_template(TEMPLATE_NAME)
    return template.render(host_values(model, host))
