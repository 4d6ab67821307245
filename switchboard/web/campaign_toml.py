"""A campaign file as text: read with the CLI's checks (errors name the field and the value), and written back
from the stored settings for the console's editor, so what a manager edits is the file `campaign create` reads.

Writing: `parse_campaign(tomllib.loads(campaign_toml(as_json(s)))) == s` (a unit test pins it).
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from typing import Any

from dialer.campaigns.model import CampaignDataError
from dialer.campaigns.settings import CampaignSettings, parse_campaign
from switchboard.errors import CampaignError

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_TABLES = ("hours", "retry")  # written as [table]
_ARRAYS = ("order_form", "survey", "dispositions", "refusal_reasons")  # written as [[array]] of tables

STARTER = """\
# A new campaign: only `name` is required; every other setting has a default (examples/campaign.toml
# shows them all, with comments). Save, then upload its lead lists on the campaign's page.
name = "New campaign"
# caller_id = "+74951234567"
max_attempts = 8
max_attempts_per_day = 3

[hours]
weekdays = "09:00-21:00"
weekend = "10:00-20:00"

[retry]
no_answer = { after = "2h", max = 5 }
busy = { after = "10m" }
"""


def read_campaign_text(text: str, source: str = "campaign.toml") -> tuple[CampaignSettings, frozenset[str]]:
    """The campaign file's text as settings, with the keys it gave; a mistake is a CampaignError naming the
    source, the field and the value (as `switchboard campaign create` says it)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{source}: not valid TOML ({exc})", field="toml") from None
    try:
        return parse_campaign(data), frozenset(data)
    except CampaignDataError as exc:
        raise CampaignError(f"{source}: {exc}", field=exc.field) from None


def campaign_toml(data: Mapping[str, Any]) -> str:
    """A campaign's settings (as `as_json` gives them) as a campaign file: settings, [hours], [retry], then the
    [[order_form]], [[survey]], [[dispositions]] and [[refusal_reasons]] tables."""
    lines: list[str] = []
    plain = [k for k in data if k not in _TABLES and k not in _ARRAYS and data[k] is not None]
    for key in sorted(plain, key=lambda k: k == "script"):  # the long script after the short settings
        lines.append(f"{_key(key)} = {_value(data[key], multiline=key == 'script')}")
    for key in _TABLES:
        table = data.get(key)
        if table:
            lines += ["", f"[{key}]", *(f"{_key(k)} = {_value(v)}" for k, v in table.items())]
    for key in _ARRAYS:
        for item in data.get(key) or ():
            lines += ["", f"[[{key}]]", *(f"{_key(k)} = {_value(v)}" for k, v in item.items() if v is not None)]
    return "\n".join(lines) + "\n"


def _key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _basic(key)


def _value(value: Any, *, multiline: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _multiline(value) if multiline and "\n" in value else _basic(value)
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    raise TypeError(f"{value!r}: not a value a campaign file holds")


def _basic(text: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for DEL, which TOML wants escaped too."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007F")


def _multiline(text: str) -> str:
    """A script as it reads: a literal multi-line string when it can be one (no ''', no control characters but
    tab and newline, not ending in a quote), else a basic string with escapes."""
    plain = all(ch in "\t\n" or (ch >= " " and ch != "\x7f") for ch in text)
    if plain and "'''" not in text and not text.endswith("'"):
        return "'''\n" + text + "'''"
    return _basic(text)
