"""The operator's script: a Jinja template written by the campaign manager, filled in with the lead's fields.

The template runs in Jinja's immutable sandbox; the lead's data (bought, untrusted) is only ever a value in it,
never template text, so '{{ 7*7 }}' in a name is shown as written. A missing value shows as nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import jinja2
from jinja2 import meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from dialer.campaigns.forms import LEAD_FIELDS
from dialer.campaigns.model import CampaignDataError

# What a script may name: the lead's fields, its custom columns (custom["Тариф"]), the operator and the campaign.
VARIABLES = frozenset({*LEAD_FIELDS, "custom", "operator", "campaign"})
MAX_SCRIPT = 20_000


def _environment(autoescape: bool) -> ImmutableSandboxedEnvironment:
    # ChainableUndefined: custom.tariff.name on a lead without it renders as nothing instead of failing mid-call.
    return ImmutableSandboxedEnvironment(
        undefined=jinja2.ChainableUndefined, autoescape=autoescape, keep_trailing_newline=True
    )


_TEXT = _environment(autoescape=False)
_HTML = _environment(autoescape=True)


def check_script(text: object, field: str = "script") -> str:
    """A template that parses and names only known variables; the error names the line or the variable."""
    if not isinstance(text, str) or len(text) > MAX_SCRIPT:
        raise CampaignDataError(
            field, text if not isinstance(text, str) else text[:60], f"a text of at most {MAX_SCRIPT} characters"
        )
    try:
        parsed = _TEXT.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise CampaignDataError(field, _line(text, exc.lineno), f"line {exc.lineno}: {exc.message}") from None
    unknown = sorted(meta.find_undeclared_variables(parsed) - VARIABLES)
    if unknown:
        raise CampaignDataError(field, unknown[0], f"not a lead field; a script may use {', '.join(sorted(VARIABLES))}")
    render_script(text, {}, operator="", campaign="")  # a template that fails on an empty lead fails here, not mid-call
    return text


def _line(text: str, number: int) -> str:
    lines = text.splitlines()
    return lines[number - 1] if 0 < number <= len(lines) else ""


def render_script(
    text: str, lead: Mapping[str, object], *, operator: str = "", campaign: str = "", html: bool = False
) -> str:
    """The script with the lead's values in place (HTML-escaped for the web console when `html`)."""
    # A field the lead lacks (None) is left undefined: it renders as nothing and reads as false in an {% if %}.
    values: dict[str, object] = {name: _value(lead[name]) for name in LEAD_FIELDS if lead.get(name) is not None}
    custom = lead.get("custom")
    values["custom"] = (
        {str(k): _value(v) for k, v in custom.items() if v is not None} if isinstance(custom, Mapping) else {}
    )
    values["operator"] = operator
    values["campaign"] = campaign
    try:
        return (_HTML if html else _TEXT).from_string(text).render(values)
    except jinja2.TemplateError as exc:
        raise CampaignDataError("script", text[:60], f"cannot be filled in: {exc}") from None
    except (ArithmeticError, TypeError, ValueError) as exc:
        raise CampaignDataError("script", text[:60], f"cannot be filled in: {exc}") from None


def _value(value: object) -> object:
    """Plain text or numbers: never an object whose methods a template could reach."""
    if isinstance(value, bool | int | float):
        return value
    return str(value)
