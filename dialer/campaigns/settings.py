"""A campaign's settings as one frozen value, read from the campaign file (TOML as a dict) with every default.

`parse_campaign(as_json(c)) == c`: the store keeps the JSON form, `campaign show` prints it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dialer.campaigns.forms import FormField, parse_fields
from dialer.campaigns.hours import WeeklyHours, check_zone, parse_hours
from dialer.campaigns.model import (
    DEFAULT_DISPOSITIONS,
    DEFAULT_REFUSAL_REASONS,
    DEFAULT_RETRY,
    CampaignDataError,
    Disposition,
    RefusalReason,
    Result,
    RetryRule,
    check_code,
    check_label,
    format_duration,
    parse_duration,
)
from dialer.campaigns.script import check_script

MAX_NAME = 100
_CALLER_ID = re.compile(r"\+?[0-9]{3,20}")
_TOP_KEYS = {
    "name", "caller_id", "recording", "require_consent", "default_zone", "dedupe_days", "max_attempts",
    "max_attempts_per_day", "default_retry", "hours", "retry", "script", "order_form", "survey", "dispositions",
    "refusal_reasons",
}  # fmt: skip
_DISPOSITION_FLAGS = ("success", "contact", "final", "callback", "dnc", "refusal")


@dataclass(frozen=True, slots=True)
class CampaignSettings:
    """Everything that decides how a campaign's leads are called and what its operators record."""

    name: str
    caller_id: str | None = None  # the number presented to the called person
    recording: bool = True
    require_consent: bool = False
    default_zone: str = "Europe/Moscow"  # leads of no known zone, and the zone of the hourly report
    dedupe_days: int | None = None
    max_attempts: int = 10  # per lead, in all
    max_attempts_per_day: int = 3  # per lead, per day in the lead's own zone
    default_retry_s: int = 3600  # a disposition without its own delay; an answered call not yet disposed
    hours: WeeklyHours = field(default_factory=WeeklyHours)
    retry: Mapping[Result, RetryRule] = field(default_factory=lambda: dict(DEFAULT_RETRY))
    script: str = ""
    order_form: tuple[FormField, ...] = ()
    survey: tuple[FormField, ...] = ()
    dispositions: tuple[Disposition, ...] = DEFAULT_DISPOSITIONS
    refusal_reasons: tuple[RefusalReason, ...] = DEFAULT_REFUSAL_REASONS

    def disposition(self, code: str) -> Disposition:
        for d in self.dispositions:
            if d.code == code:
                return d
        raise CampaignDataError("disposition", code, f"not one of {', '.join(d.code for d in self.dispositions)}")

    def refusal_reason(self, code: str) -> RefusalReason:
        for r in self.refusal_reasons:
            if r.code == code:
                return r
        known = ", ".join(r.code for r in self.refusal_reasons)
        raise CampaignDataError("refusal_reason", code, f"not one of {known}")


def parse_campaign(data: Mapping[str, Any]) -> CampaignSettings:
    """A campaign file's tables as settings; the first mistake is raised, naming the field and the value."""
    for key in data:
        if key not in _TOP_KEYS:
            raise CampaignDataError(key, data[key], f"not a campaign setting: {', '.join(sorted(_TOP_KEYS))}")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME or name != name.strip():
        raise CampaignDataError("name", name, f"a campaign name is 1 to {MAX_NAME} characters, no outer spaces")
    caller_id = data.get("caller_id")
    if caller_id is not None and (not isinstance(caller_id, str) or not _CALLER_ID.fullmatch(caller_id)):
        raise CampaignDataError("caller_id", caller_id, "a number: digits with an optional leading '+'")
    max_attempts = _count(data, "max_attempts", 10, 1, 100)
    per_day = _count(data, "max_attempts_per_day", 3, 1, 100)
    dedupe = data.get("dedupe_days")
    return CampaignSettings(
        name=name,
        caller_id=caller_id,
        recording=_flag(data, "recording", True),
        require_consent=_flag(data, "require_consent", False),
        default_zone=check_zone(data.get("default_zone", "Europe/Moscow"), "default_zone"),
        dedupe_days=None if dedupe is None else _count(data, "dedupe_days", 0, 0, 3650),
        max_attempts=max_attempts,
        max_attempts_per_day=per_day,
        default_retry_s=parse_duration(data.get("default_retry", 3600), "default_retry"),
        hours=parse_hours(data.get("hours")),
        retry=_retry(data.get("retry")),
        script=check_script(data.get("script", "")),
        order_form=parse_fields(data.get("order_form"), "order_form"),
        survey=parse_fields(data.get("survey"), "survey"),
        dispositions=_dispositions(data.get("dispositions")),
        refusal_reasons=_reasons(data.get("refusal_reasons")),
    )


def _flag(data: Mapping[str, Any], key: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise CampaignDataError(key, value, "true or false")
    return value


def _count(data: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise CampaignDataError(key, value, f"a whole number from {low} to {high}")
    return value


def _retry(data: object) -> dict[Result, RetryRule]:
    """Rules per result: `no_answer = { after = "2h", max = 5 }`; results not named keep their defaults."""
    rules = dict(DEFAULT_RETRY)
    if data is None:
        return rules
    if not isinstance(data, Mapping):
        raise CampaignDataError("retry", data, 'a table: no_answer = { after = "2h", max = 5 }')
    for key, rule in data.items():
        where = f"retry.{key}"
        if key not in {r.value for r in DEFAULT_RETRY}:
            raise CampaignDataError(
                where, rule, f"not a result with retries: {', '.join(r.value for r in DEFAULT_RETRY)}"
            )
        if not isinstance(rule, Mapping) or "after" not in rule or set(rule) - {"after", "max"}:
            raise CampaignDataError(where, rule, 'a table: { after = "2h", max = 5 } (max is optional)')
        most = rule.get("max")
        if most is not None and (isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= 100):
            raise CampaignDataError(f"{where}.max", most, "a whole number from 1 to 100")
        rules[Result(key)] = RetryRule(parse_duration(rule["after"], f"{where}.after"), most)
    return rules


def _table_list(data: object, section: str) -> Sequence[Mapping[str, Any]]:
    if not isinstance(data, Sequence) or isinstance(data, str) or not data:
        raise CampaignDataError(section, data, f"a non-empty list of tables ([[{section}]])")
    for i, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise CampaignDataError(f"{section}.{i}", item, "a table: code, label ...")
    return data


def _dispositions(data: object) -> tuple[Disposition, ...]:
    if data is None:
        return DEFAULT_DISPOSITIONS
    found: list[Disposition] = []
    for i, item in enumerate(_table_list(data, "dispositions")):
        where = f"dispositions.{i}"
        unknown = set(item) - {"code", "label", "retry_after", *_DISPOSITION_FLAGS}
        if unknown:
            key = sorted(unknown)[0]
            raise CampaignDataError(f"{where}.{key}", item[key], "not a disposition setting")
        flags = {k: _flag(item, k, False) for k in _DISPOSITION_FLAGS}
        retry = item.get("retry_after")
        d = Disposition(
            code=check_code(item.get("code"), f"{where}.code"),
            label=check_label(item.get("label", item.get("code")), f"{where}.label"),
            retry_after_s=None if retry is None else parse_duration(retry, f"{where}.retry_after"),
            **flags,
        )
        if d.callback and (d.final or d.dnc):
            raise CampaignDataError(f"{where}.callback", True, "a callback disposition cannot be final or do-not-call")
        if d.dnc and not d.final:
            d = Disposition(**{**_fields(d), "final": True})  # a do-not-call disposition always ends the lead
        found.append(d)
    _unique([d.code for d in found], "dispositions")
    return tuple(found)


def _fields(d: Disposition) -> dict[str, Any]:
    return {k: getattr(d, k) for k in Disposition.__slots__}


def _reasons(data: object) -> tuple[RefusalReason, ...]:
    if data is None:
        return DEFAULT_REFUSAL_REASONS
    found: list[RefusalReason] = []
    for i, item in enumerate(_table_list(data, "refusal_reasons")):
        where = f"refusal_reasons.{i}"
        unknown = set(item) - {"code", "label", "dnc"}
        if unknown:
            key = sorted(unknown)[0]
            raise CampaignDataError(f"{where}.{key}", item[key], "not a refusal reason setting")
        code = check_code(item.get("code"), f"{where}.code")
        label = check_label(item.get("label", code), f"{where}.label")
        found.append(RefusalReason(code, label, _flag(item, "dnc", False)))
    _unique([r.code for r in found], "refusal_reasons")
    return tuple(found)


def _unique(codes: list[str], section: str) -> None:
    seen: set[str] = set()
    for i, code in enumerate(codes):
        if code in seen:
            raise CampaignDataError(f"{section}.{i}.code", code, "a second entry with that code")
        seen.add(code)


def as_json(c: CampaignSettings) -> dict[str, Any]:
    """The settings as the campaign file would write them (every default spelled out)."""
    data: dict[str, Any] = {
        "name": c.name,
        "recording": c.recording,
        "require_consent": c.require_consent,
        "default_zone": c.default_zone,
        "max_attempts": c.max_attempts,
        "max_attempts_per_day": c.max_attempts_per_day,
        "default_retry": format_duration(c.default_retry_s),
        "hours": c.hours.as_json(),
        "retry": {
            r.value: {"after": format_duration(rule.after_s)} | ({"max": rule.max_times} if rule.max_times else {})
            for r, rule in c.retry.items()
        },
        "script": c.script,
        "order_form": [f.as_json() for f in c.order_form],
        "survey": [f.as_json() for f in c.survey],
        "dispositions": [_disposition_json(d) for d in c.dispositions],
        "refusal_reasons": [{"code": r.code, "label": r.label, "dnc": r.dnc} for r in c.refusal_reasons],
    }
    if c.caller_id is not None:
        data["caller_id"] = c.caller_id
    if c.dedupe_days is not None:
        data["dedupe_days"] = c.dedupe_days
    return data


def _disposition_json(d: Disposition) -> dict[str, Any]:
    data: dict[str, Any] = {"code": d.code, "label": d.label} | {k: getattr(d, k) for k in _DISPOSITION_FLAGS}
    if d.retry_after_s is not None:
        data["retry_after"] = format_duration(d.retry_after_s)
    return data
