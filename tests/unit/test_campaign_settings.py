"""The campaign file: defaults, errors that name the field and value, order forms, surveys and the operator script."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.campaigns.forms import FormError, check_form, parse_fields, prefilled
from dialer.campaigns.model import (
    DEFAULT_DISPOSITIONS,
    DEFAULT_REFUSAL_REASONS,
    DEFAULT_RETRY,
    CampaignDataError,
    Result,
    format_duration,
    parse_duration,
)
from dialer.campaigns.script import check_script, render_script
from dialer.campaigns.settings import as_json, parse_campaign

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaign.toml"


def test_a_campaign_of_just_a_name_gets_every_default() -> None:
    """09:00-21:00 every day, the retry rules of the issue, and the default dispositions and refusal reasons."""
    c = parse_campaign({"name": "Весна"})
    assert c.hours.as_json() == dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "09:00-21:00")
    assert c.retry == DEFAULT_RETRY
    assert (c.retry[Result.NO_ANSWER].after_s, c.retry[Result.NO_ANSWER].max_times) == (7200, 5)
    assert c.retry[Result.BUSY].after_s == 600
    assert c.dispositions == DEFAULT_DISPOSITIONS and c.refusal_reasons == DEFAULT_REFUSAL_REASONS
    codes = [r.code for r in c.refusal_reasons]
    assert codes[:6] == ["too_expensive", "other_provider", "not_interested", "no_need", "bad_time", "distrust"]
    assert c.refusal_reason("do_not_call").dnc
    assert (c.max_attempts, c.max_attempts_per_day, c.recording, c.caller_id) == (10, 3, True, None)


def test_the_example_file_reads_and_round_trips() -> None:
    with EXAMPLE.open("rb") as raw:
        c = parse_campaign(tomllib.load(raw))
    assert c.caller_id == "+74951234567"
    assert [f.name for f in c.order_form][:2] == ["full_name", "address"]
    assert parse_campaign(as_json(c)) == c


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": ""}, "name = '': a campaign name is 1 to 100 characters"),
        ({"name": "X", "colour": "red"}, "colour = 'red': not a campaign setting"),
        ({"name": "X", "caller_id": "495-123"}, "caller_id = '495-123': a number"),
        ({"name": "X", "default_zone": "Mars/Olympus"}, "default_zone = 'Mars/Olympus': not a time zone name"),
        ({"name": "X", "max_attempts": 0}, "max_attempts = 0: a whole number from 1 to 100"),
        ({"name": "X", "recording": "yes"}, "recording = 'yes': true or false"),
        ({"name": "X", "retry": {"no_answer": {"after": "2x"}}}, "retry.no_answer.after = '2x': not a duration"),
        ({"name": "X", "retry": {"ringing": {"after": "2h"}}}, "retry.ringing = {'after': '2h'}: not a result"),
        ({"name": "X", "retry": {"busy": {"after": "1m", "max": 0}}}, "retry.busy.max = 0: a whole number"),
        ({"name": "X", "dispositions": []}, "dispositions = []: a non-empty list of tables"),
        ({"name": "X", "dispositions": [{"code": "Sale!"}]}, "dispositions.0.code = 'Sale!': a code is"),
        (
            {"name": "X", "dispositions": [{"code": "a"}, {"code": "a"}]},
            "dispositions.1.code = 'a': a second entry with that code",
        ),
        (
            {"name": "X", "dispositions": [{"code": "cb", "callback": True, "final": True}]},
            "dispositions.0.callback = True: a callback disposition cannot be final",
        ),
        ({"name": "X", "refusal_reasons": [{"code": "x", "dnc": 1}]}, "dnc = 1: true or false"),
        ({"name": "X", "script": "Hello {{ nmae }}"}, "script = 'nmae': not a lead field"),
        ({"name": "X", "script": "Hello {{ name"}, "script = 'Hello {{ name': line 1: unexpected end of template"),
        ({"name": "X", "order_form": [{"name": "Date"}]}, "order_form.0.name = 'Date': a name is a lowercase"),
        ({"name": "X", "order_form": [{"name": "d", "type": "when"}]}, "order_form.0.type = 'when': not a field type"),
        ({"name": "X", "survey": [{"name": "p", "type": "choice"}]}, "survey.0.choices = []: a choice field needs"),
        ({"name": "X", "order_form": [{"name": "n", "prefill": "fio"}]}, "order_form.0.prefill = 'fio': not a lead"),
    ],
)
def test_a_mistake_names_the_field_and_the_value(data: dict[str, Any], message: str) -> None:
    with pytest.raises(CampaignDataError) as caught:
        parse_campaign(data)
    assert message in str(caught.value)


def test_a_do_not_call_disposition_always_ends_the_lead() -> None:
    c = parse_campaign({"name": "X", "dispositions": [{"code": "stop", "label": "Стоп", "dnc": True}]})
    assert c.disposition("stop").final


@given(st.integers(0, 10 * 86400))
def test_durations_read_back_what_they_write(seconds: int) -> None:
    assert parse_duration(format_duration(seconds), "x") == seconds


def test_durations_as_people_write_them() -> None:
    assert [parse_duration(v, "x") for v in ("2h", "10m", "1h30m", "90s", "1d", 45, "2 h")] == [
        7200, 600, 5400, 90, 86400, 45, 7200,
    ]  # fmt: skip
    for bad in ("2x", "", "h", -1, True, 1.5):
        with pytest.raises(CampaignDataError):
            parse_duration(bad, "x")


FORM = parse_fields(
    [
        {"name": "full_name", "label": "ФИО", "required": True, "prefill": "full_name"},
        {"name": "tariff", "type": "choice", "choices": ["Базовый", "Макс"], "required": True},
        {"name": "connect_on", "type": "date"},
        {"name": "amount", "type": "number", "minimum": 1000, "maximum": 5_000_000},
        {"name": "term_months", "type": "integer", "minimum": 3, "maximum": 60},
        {"name": "employed", "type": "bool"},
        {"name": "contact_phone", "type": "phone", "prefill": "phone"},
        {"name": "email", "type": "email"},
        {"name": "tariff_now", "prefill": "custom.Тариф"},
    ],
    "order_form",
)


def test_a_submitted_form_is_cleaned() -> None:
    clean = check_form(
        FORM,
        {
            "full_name": "  Иванов Иван ",
            "tariff": "Макс",
            "connect_on": "05.04.2026",
            "amount": "250 000,50",
            "term_months": "24",
            "employed": "да",
            "contact_phone": "+7 (912) 345-67-89",
            "email": "ivan@example.ru",
        },
        "order_form",
    )
    assert clean == {
        "full_name": "Иванов Иван",
        "tariff": "Макс",
        "connect_on": "2026-04-05",
        "amount": 250000.5,
        "term_months": 24,
        "employed": True,
        "contact_phone": "+7 (912) 345-67-89",
        "email": "ivan@example.ru",
    }


def test_every_problem_of_a_form_is_named() -> None:
    with pytest.raises(FormError) as caught:
        check_form(
            FORM,
            {"tariff": "Мини", "connect_on": "31.02.2026", "term_months": "2.5", "amount": "10", "colour": "red"},
            "order_form",
        )
    text = str(caught.value)
    for part in (
        "order_form.colour = 'red': no such field in this campaign",
        "order_form.full_name = None: is required",
        "order_form.tariff = 'Мини': not one of Базовый, Макс",
        "order_form.connect_on = '31.02.2026': not a date",
        "order_form.amount = '10': less than 1000",
        "order_form.term_months = '2.5': a whole number",
    ):
        assert part in text
    assert len(caught.value.problems) == 6


def test_a_form_starts_from_the_leads_fields() -> None:
    lead = {"full_name": "Иванов Иван", "phone": "+79123456789", "custom": {"Тариф": "Базовый"}}
    assert prefilled(FORM, lead) == {
        "full_name": "Иванов Иван",
        "contact_phone": "+79123456789",
        "tariff_now": "Базовый",
    }


SCRIPT = "Здравствуйте, {{ first_name or full_name }}! Я {{ operator }}, {{ campaign }}. Тариф: {{ custom['Тариф'] }}."


def test_the_script_is_filled_in_with_the_lead() -> None:
    text = render_script(
        SCRIPT, {"full_name": "Иванов Иван", "custom": {"Тариф": "Макс"}}, operator="Анна", campaign="Весна"
    )
    assert text == "Здравствуйте, Иванов Иван! Я Анна, Весна. Тариф: Макс."
    assert render_script(SCRIPT, {}) == "Здравствуйте, ! Я , . Тариф: ."  # missing values show as nothing


@pytest.mark.parametrize(
    "value",
    ["{{ 7*7 }}", "{% for x in range(10**9) %}x{% endfor %}", "{{ ''.__class__.__mro__ }}", "<b>&</b>", "%(x)s {0}"],
)
def test_lead_data_is_never_run_as_a_template(value: str) -> None:
    """Bought data is untrusted: whatever a name holds is shown as written, never executed."""
    assert render_script("{{ full_name }}|{{ custom.note }}", {"full_name": value, "custom": {"note": value}}) == (
        f"{value}|{value}"
    )
    assert render_script("{{ full_name }}", {"full_name": value}, html=True) == (
        value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
    )


@settings(max_examples=200)
@given(st.text(max_size=80))
def test_any_lead_value_renders_as_itself(value: str) -> None:
    assert render_script("[{{ address }}]", {"address": value}) == f"[{value}]"


def test_the_sandbox_keeps_a_template_away_from_python() -> None:
    """A campaign manager's template cannot reach Python internals either."""
    assert render_script("{{ full_name.__class__ }}", {"full_name": "x"}) == ""
    with pytest.raises(CampaignDataError, match="cannot be filled in"):
        render_script("{{ custom.update({'a': 1}) }}", {"custom": {}})
    assert check_script("{{ custom.get('Тариф', 'нет') }}") == "{{ custom.get('Тариф', 'нет') }}"
