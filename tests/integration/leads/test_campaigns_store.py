"""Campaigns in a real store (SQLite, PostgreSQL): settings, attempts written before the call, dispositions, DNC,
callbacks and win-back campaigns."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dialer.campaigns.model import LeadStatus
from dialer.campaigns.settings import parse_campaign
from switchboard.errors import AttemptRefusedError, CampaignError, DispositionError, StoreError
from switchboard.store import attempts as attempt_store
from switchboard.store.attempts import finish_attempt, record_attempt, record_disposition, score_attempt
from switchboard.store.callbacks import due_callbacks, schedule_callback
from switchboard.store.campaigns import campaign_summary, find_campaign, operator_view, save_campaign
from switchboard.store.dnc import add_numbers, is_blocked
from switchboard.store.leads import ensure_campaign
from switchboard.store.schema import attempts, callbacks, dispositions, dnc, lead_lists, leads
from switchboard.store.winback import create_winback
from tests.integration.leads.campaign_helpers import T0, add_leads, lead, make_campaign, rows

UTC = dt.UTC
FORM = [
    {"name": "full_name", "label": "ФИО", "required": True, "prefill": "full_name"},
    {"name": "tariff", "type": "choice", "choices": ["Базовый", "Макс"], "required": True},
    {"name": "connect_on", "type": "date", "required": True},
]
SURVEY = [{"name": "current_provider", "type": "choice", "choices": ["МТС", "другой"]}, {"name": "why"}]


def called(engine: Engine, lead_id: int, at: float, result: str = "answered", **kwargs: Any) -> int:
    """One attempt: the row before the call, then its result."""
    attempt_id = record_attempt(engine, lead_id, now=at)
    finish_attempt(engine, attempt_id, result, now=at + 60, **kwargs)
    return attempt_id


def test_a_campaign_file_creates_then_updates_the_campaign(engine: Engine) -> None:
    """Settings read back as written; dispositions dropped from the file stay (old attempts) but become inactive."""
    settings = parse_campaign({"name": "Весна", "caller_id": "+74951234567", "order_form": FORM, "survey": SURVEY})
    first = save_campaign(engine, settings, now=T0)
    with engine.connect() as conn:
        assert find_campaign(conn, "Весна").settings == settings
    fewer = dataclasses.replace(settings, dispositions=settings.dispositions[:3], max_attempts=4)
    second = save_campaign(engine, fewer, now=T0)
    assert (first.created, second.created, second.id) == (True, False, first.id)
    with engine.connect() as conn:
        assert find_campaign(conn, "Весна").settings == fewer
    active = {r["code"]: r["active"] for r in rows(engine, dispositions, dispositions.c.campaign_id == first.id)}
    assert [code for code, on in active.items() if on] == ["sale", "callback", "thinking"]
    assert len(active) == 7
    assert campaign_summary(engine, "Весна")["settings"]["max_attempts"] == 4


def test_a_campaign_made_by_an_import_reads_with_defaults_and_takes_a_file_later(engine: Engine) -> None:
    with engine.begin() as conn:
        made = ensure_campaign(conn, "Импорт", T0, require_consent=True)
    with engine.connect() as conn:
        stored = find_campaign(conn, "Импорт").settings
    assert stored.require_consent and stored.max_attempts == 3 and stored.default_retry_s == 3600
    assert stored.hours.as_json()["sat"] == "10:00-20:00"  # the columns' weekend hours
    assert save_campaign(engine, parse_campaign({"name": "Импорт"}), now=T0).id == made.id


def test_the_operator_sees_the_script_filled_in_and_the_form_prefilled(engine: Engine) -> None:
    script = "Здравствуйте, {{ full_name }}! Ваш тариф: {{ custom['Тариф'] }}. {{ operator }}, {{ campaign }}."
    cid = make_campaign(engine, script=script, order_form=FORM)
    [lead_id] = add_leads(engine, cid, "a", ["+79120000001"])
    with engine.begin() as conn:  # bought data is untrusted: it must show as written
        conn.execute(leads.update().where(leads.c.id == lead_id).values(full_name="{{ 7*7 }} <b>"))
    view = operator_view(engine, lead_id, operator="Анна")
    assert view["script"] == "Здравствуйте, {{ 7*7 }} <b>! Ваш тариф: Базовый. Анна, Весна."
    assert "{{ 7*7 }} &lt;b&gt;!" in operator_view(engine, lead_id, html=True)["script"]
    assert view["order_form"]["values"] == {"full_name": "{{ 7*7 }} <b>"}
    assert [d["code"] for d in view["dispositions"]][:2] == ["sale", "callback"]
    with pytest.raises(CampaignError, match="lead 999: no such lead"):
        operator_view(engine, 999)


def test_a_file_that_says_nothing_of_consent_keeps_the_requirement_an_import_set(engine: Engine) -> None:
    with engine.begin() as conn:
        ensure_campaign(conn, "Строгая", T0, require_consent=True)
    save_campaign(engine, parse_campaign({"name": "Строгая"}), now=T0, given={"name"})
    with engine.connect() as conn:
        assert find_campaign(conn, "Строгая").settings.require_consent
    said = {"name": "Строгая", "require_consent": False}
    save_campaign(engine, parse_campaign(said), now=T0, given=set(said))
    with engine.connect() as conn:
        assert not find_campaign(conn, "Строгая").settings.require_consent


def test_the_attempt_is_written_before_the_call_and_refused_when_it_may_not_be(engine: Engine) -> None:
    cid = make_campaign(engine, max_attempts_per_day=2, retry={"busy": {"after": "0s"}})
    first, blocked, omsk_night = add_leads(engine, cid, "a", ["+79120000001", "+79120000002", "+79120000003"])
    attempt_id = record_attempt(engine, first, now=T0)
    [row] = rows(engine, attempts, attempts.c.id == attempt_id)
    assert (row["phone_e164"], row["started_at"], row["result"]) == ("+79120000001", T0, None)
    assert (lead(engine, first)["status"], lead(engine, first)["attempts"]) == ("in_progress", 1)
    with pytest.raises(AttemptRefusedError, match="the lead is in_progress"):
        record_attempt(engine, first, now=T0 + 1)
    finish_attempt(engine, attempt_id, "busy", now=T0 + 10)
    called(engine, first, T0 + 20, "busy")
    tomorrow_9 = dt.datetime(2026, 3, 5, 6, 0, tzinfo=UTC).timestamp()  # 09:00 in Moscow
    assert lead(engine, first)["next_attempt_at"] == tomorrow_9  # the day's two attempts are used up
    with engine.begin() as conn:  # even when asked out of turn, the cap holds
        conn.execute(leads.update().where(leads.c.id == first).values(next_attempt_at=None))
    with pytest.raises(AttemptRefusedError, match=r"2 attempts today \(at most 2 a day\)"):
        record_attempt(engine, first, now=T0 + 100)
    with engine.begin() as conn:
        add_numbers(conn, ["+79120000002"], campaign_id=None, now=T0)
        conn.execute(leads.update().where(leads.c.id == blocked).values(status="new"))  # as if listed after import
    with pytest.raises(AttemptRefusedError, match="on a do-not-call list"):
        record_attempt(engine, blocked, now=T0)
    assert lead(engine, blocked)["status"] == "dnc"
    with engine.begin() as conn:
        conn.execute(leads.update().where(leads.c.id == omsk_night).values(time_zones=["Asia/Kamchatka"]))
    with pytest.raises(AttemptRefusedError, match="outside the calling hours in Asia/Kamchatka"):
        record_attempt(engine, omsk_night, now=T0 + 12 * 3600)
    with pytest.raises(CampaignError, match="is not one of its numbers"):
        record_attempt(engine, first, phone="+79990000000", now=T0 + 86400)
    assert len(rows(engine, attempts)) == 2


def test_a_result_moves_the_lead_by_its_retry_rule(engine: Engine) -> None:
    cid = make_campaign(engine, retry={"no_answer": {"after": "2h", "max": 2}})
    [lead_id] = add_leads(engine, cid, "a", ["+79120000001"])
    first = record_attempt(engine, lead_id, now=T0)
    update = finish_attempt(engine, first, "no_answer", now=T0 + 30)
    assert update is not None and update.next_attempt_at == T0 + 30 + 7200
    assert (lead(engine, lead_id)["status"], lead(engine, lead_id)["last_result"]) == ("retry", "no_answer")
    with pytest.raises(CampaignError, match="already ended with 'no_answer'"):
        finish_attempt(engine, first, "busy", now=T0 + 40)
    called(engine, lead_id, T0 + 7300, "no_answer")
    assert lead(engine, lead_id)["status"] == "exhausted"
    with pytest.raises(CampaignError, match="result = 'ringing'"):
        finish_attempt(engine, first, "ringing")


def test_asked_not_to_be_called_is_on_the_list_at_once_in_the_same_transaction(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The number goes on the system-wide list with the disposition; if anything after fails, neither is stored."""
    cid = make_campaign(engine)
    other = make_campaign(engine, "Лето")
    [lead_id] = add_leads(engine, cid, "a", ["+79120000001"])
    [elsewhere] = add_leads(engine, other, "b", ["+79120000001"])
    attempt_id = called(engine, lead_id, T0, operator="anna", talk_s=30.0)
    real = attempt_store.add_numbers

    def fails_after(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise sa.exc.OperationalError("INSERT", {}, Exception("disk full"))

    monkeypatch.setattr(attempt_store, "add_numbers", fails_after)
    with pytest.raises(StoreError, match="the disposition of attempt"):
        record_disposition(engine, attempt_id, "refused", refusal_reason="do_not_call", now=T0 + 100)
    assert rows(engine, dnc) == [] and rows(engine, attempts)[0]["disposition_id"] is None
    monkeypatch.undo()
    done = record_disposition(engine, attempt_id, "refused", refusal_reason="do_not_call", note="грубо", now=T0 + 100)
    assert (done.status, done.dnc_added) == ("dnc", True)
    [entry] = rows(engine, dnc)
    assert (entry["campaign_id"], entry["phone_e164"], entry["source"]) == (None, "+79120000001", "operator")
    with engine.connect() as conn:
        assert is_blocked(conn, "+79120000001", other)
    assert lead(engine, elsewhere)["status"] == "dnc"  # every campaign's lead with that number
    assert rows(engine, attempts)[0]["note"] == "грубо"
    with pytest.raises(DispositionError, match="already has a disposition"):
        record_disposition(engine, attempt_id, "sale", now=T0 + 200)


def test_a_sale_needs_its_order_form_and_survey_answers_are_kept(engine: Engine) -> None:
    cid = make_campaign(
        engine, order_form=FORM, survey=SURVEY, hours={"every_day": "00:00-24:00"}, max_attempts_per_day=20
    )
    [lead_id, second] = add_leads(engine, cid, "a", ["+79120000001", "+79120000002"])
    attempt_id = called(engine, lead_id, T0, operator="anna", talk_s=120.0)
    with pytest.raises(DispositionError) as caught:
        record_disposition(engine, attempt_id, "sale", order_form={"tariff": "Мини"}, now=T0 + 100)
    message = str(caught.value)
    assert "order_form.full_name = None: is required" in message and "order_form.tariff = 'Мини'" in message
    form = {"full_name": "Иванов Иван", "tariff": "Макс", "connect_on": "05.04.2026"}
    survey = {"current_provider": "МТС", "why": "дёшево"}
    done = record_disposition(engine, attempt_id, "sale", order_form=form, survey=survey, score=4, now=T0 + 100)
    assert done.status == "done"
    [row] = rows(engine, attempts, attempts.c.id == attempt_id)
    assert row["order_form"] == form | {"connect_on": "2026-04-05"}
    assert (row["survey"], row["score"], row["disposed_at"]) == (survey, 4, T0 + 100)
    busy = called(engine, second, T0, "busy")
    with pytest.raises(DispositionError, match="ended 'busy': no person answered"):
        record_disposition(engine, busy, "sale", order_form=form)
    bad_ones: list[tuple[dict[str, Any], str]] = [
        ({"code": "sold"}, "disposition = 'sold': not one of sale, callback"),
        ({"code": "refused", "refusal_reason": "too_loud"}, "refusal_reason = 'too_loud'"),
        ({"code": "refused"}, "'refused' needs a refusal reason"),
        ({"code": "thinking", "survey": {"current_provider": "Ростелеком"}}, "survey.current_provider"),
        ({"code": "thinking", "score": 6}, "score = 6"),
    ]
    for hour, (bad, match) in enumerate(bad_ones, start=1):
        attempt = called(engine, second, T0 + 2 * 3600 * hour, operator="boris")
        with pytest.raises(DispositionError, match=match):
            record_disposition(engine, attempt, **bad)
        assert rows(engine, attempts, attempts.c.id == attempt)[0]["disposition_id"] is None
    score_attempt(engine, attempt_id, 5)
    assert rows(engine, attempts, attempts.c.id == attempt_id)[0]["score"] == 5
    with pytest.raises(CampaignError, match="nothing to score"):
        score_attempt(engine, busy, 3)


def test_callbacks_at_the_persons_local_time_for_the_same_operator_or_anyone(engine: Engine) -> None:
    cid = make_campaign(engine, max_attempts=1)
    [omsk, moscow] = add_leads(engine, cid, "a", ["+79130000001"], zones=("Asia/Omsk",)) + add_leads(
        engine, cid, "b", ["+79160000002"]
    )
    attempt_id = called(engine, omsk, T0, operator="anna", talk_s=10.0)
    tomorrow_1830 = dt.datetime(2026, 3, 5, 18, 30)  # Omsk time: 12:30 UTC
    done = record_disposition(
        engine, attempt_id, "callback", callback_at=tomorrow_1830, callback_personal=True, now=T0 + 100
    )
    due = dt.datetime(2026, 3, 5, 12, 30, tzinfo=UTC).timestamp()
    assert (done.status, done.next_attempt_at) == ("callback", due)
    [row] = rows(engine, callbacks)
    assert (row["due_at"], row["zone"], row["operator"], row["attempt_id"]) == (due, "Asia/Omsk", "anna", attempt_id)
    anyone = schedule_callback(engine, moscow, dt.datetime(2026, 3, 5, 10, 0), now=T0)
    moscow_10 = dt.datetime(2026, 3, 5, 7, 0, tzinfo=UTC).timestamp()
    assert due_callbacks(engine, "Весна", operator="anna", now=moscow_10 - 1) == []
    assert [c.id for c in due_callbacks(engine, "Весна", operator="anna", now=moscow_10)] == [anyone]
    early = due_callbacks(engine, "Весна", operator="boris", now=due)
    assert [c.id for c in early] == [anyone]
    both = due_callbacks(engine, "Весна", operator="anna", now=due)
    assert [c.id for c in both] == [anyone, row["id"]]
    assert both[1].local_time == "2026-03-05T18:30+06:00"
    # The person asked: the total cap (one attempt) does not stop the callback; the hours still hold.
    again = record_attempt(engine, omsk, now=due)
    finish_attempt(engine, again, "answered", now=due + 60, operator="anna")
    record_disposition(engine, again, "sale", now=due + 120)
    assert rows(engine, callbacks, callbacks.c.id == row["id"])[0]["status"] == "done"
    for local, match in [
        (dt.datetime(2026, 3, 5, 22, 30), "is outside the campaign's calling hours"),
        (dt.datetime(2026, 3, 1, 10, 0), "is not in the future"),
    ]:
        with pytest.raises(CampaignError, match=match):
            schedule_callback(engine, moscow, local, now=T0)
    with pytest.raises(CampaignError, match="callback_zone = 'Omsk'"):
        schedule_callback(engine, moscow, dt.datetime(2026, 3, 5, 10, 0), zone_name="Omsk", now=T0)


def refuse(engine: Engine, lead_id: int, at: float, reason: str | None, code: str = "refused") -> None:
    attempt_id = called(engine, lead_id, at, operator="anna", talk_s=5.0)
    record_disposition(engine, attempt_id, code, refusal_reason=reason, now=at + 100)


def test_a_winback_campaign_takes_the_refused_leads_once_and_never_the_dnc_ones(engine: Engine) -> None:
    """Latest disposition counts; DNC leads and numbers stay out; lists and settings come along; runs are idempotent."""
    source = make_campaign(engine, caller_id="+74950000000", max_attempts=6)
    a = add_leads(engine, source, "весна.csv", ["+79120000001", "+79120000002", "+79120000003", "+79120000004"])
    b = add_leads(engine, source, "осень.csv", ["+79120000005", "+79120000006", "+79120000007"], ("Asia/Omsk",))
    refuse(engine, a[0], T0, "too_expensive")  # copied
    refuse(engine, a[1], T0, "not_interested")  # another reason
    refuse(engine, a[2], T0, "do_not_call")  # the lead and number are do-not-call
    refuse(engine, a[3], T0, "too_expensive")
    with engine.begin() as conn:  # refused, later sold: the latest disposition counts
        conn.execute(leads.update().where(leads.c.id == a[3]).values(status="retry", next_attempt_at=None))
    refuse(engine, a[3], T0 + 3600, None, code="sale")
    refuse(engine, b[0], T0, "other_provider")  # copied
    refuse(engine, b[1], T0, "too_expensive")
    with engine.begin() as conn:  # put on the list by other means after the refusal
        add_numbers(conn, ["+79120000006"], campaign_id=source, now=T0)
    called(engine, b[2], T0, "no_answer")  # never reached: no refusal

    report = create_winback(engine, "Весна", "Весна: дешевле", ["too_expensive", "other_provider"], now=T0 + 86400)
    assert report.as_json() == {
        "campaign": "Весна: дешевле",
        "source": "Весна",
        "reasons": ["too_expensive", "other_provider"],
        "created": True,
        "matched": 3,
        "copied": 2,
        "already": 0,
        "dnc": 1,
    }
    with engine.connect() as conn:
        target = find_campaign(conn, "Весна: дешевле")
    assert target.settings.caller_id == "+74950000000" and target.settings.max_attempts == 6
    assert target.winback == {"source": "Весна", "reasons": ["other_provider", "too_expensive"]}
    copies = rows(engine, leads, leads.c.campaign_id == target.id)
    assert [(c["phone_e164"], c["source_lead_id"], c["status"], c["attempts"]) for c in copies] == [
        ("+79120000001", a[0], "new", 0),
        ("+79120000005", b[0], "new", 0),
    ]
    assert copies[1]["time_zones"] == ["Asia/Omsk"] and copies[0]["custom"] == {"Тариф": "Базовый", "row": "0"}
    lists = {r["id"]: r["name"] for r in rows(engine, lead_lists, lead_lists.c.campaign_id == target.id)}
    assert [lists[c["list_id"]] for c in copies] == ["весна.csv", "осень.csv"]

    again = create_winback(engine, "Весна", "Весна: дешевле", ["too_expensive", "other_provider"], now=T0 + 86400)
    assert (again.created, again.matched, again.copied, again.already) == (False, 3, 0, 2)
    wider = create_winback(engine, "Весна", "Весна: дешевле", ["not_interested", "do_not_call"], now=T0 + 86400)
    assert (wider.matched, wider.copied, wider.dnc) == (2, 1, 1)
    assert len(rows(engine, leads, leads.c.campaign_id == target.id)) == 3

    for args, match in [
        (("Весна", "Другая", ["too_cheap"]), "--reasons 'too_cheap': not a refusal reason of 'Весна'"),
        (("Нет такой", "Другая", ["too_expensive"]), "campaign 'Нет такой': no such campaign"),
        (("Весна", "Весна", ["too_expensive"]), "is not a win-back of 'Весна'"),
        (("Весна", "Другая", [" "]), "--reasons: name at least one"),
    ]:
        with pytest.raises(CampaignError, match=match):
            create_winback(engine, *args, now=T0)
    make_campaign(engine, "Лето")
    with pytest.raises(CampaignError, match="'Лето': that campaign exists and is not a win-back"):
        create_winback(engine, "Весна", "Лето", ["too_expensive"], now=T0)
    assert lead(engine, a[2])["status"] == LeadStatus.DNC.value
