"""Dial attempts in SQL: the row written before the call is placed, its result, and the operator's disposition.

Each step is one transaction that also moves the lead on (status, next attempt) by the campaign's rules, so a crash
between the row and the call never dials a lead twice unseen, and a "do not call me" is on the list at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from dialer.campaigns.forms import check_form
from dialer.campaigns.hours import day_start
from dialer.campaigns.model import CampaignDataError, LeadStatus, Result
from dialer.campaigns.rules import LeadState, LeadUpdate, after_result, apply_disposition, may_dial, primary_zone
from switchboard.errors import AttemptRefusedError, CampaignError, DispositionError
from switchboard.store.callbacks import callback_instant, insert_callback, settle_callbacks
from switchboard.store.campaigns import StoredCampaign, campaign_by_id, clock, outcome_ids, transaction
from switchboard.store.dnc import add_numbers, is_blocked
from switchboard.store.schema import attempts, leads

_RESULTS = frozenset(r.value for r in Result)


@dataclass(frozen=True, slots=True)
class DispositionRecorded:
    attempt_id: int
    lead_id: int
    status: str
    next_attempt_at: float | None
    dnc_added: bool = False
    callback_id: int | None = None


def _utc(now: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, dt.UTC)


def _lead(conn: Connection, lead_id: int) -> Row[Any]:
    # FOR UPDATE on PostgreSQL: two dialer workers cannot both decide on the same lead (SQLite has one writer anyway).
    row = conn.execute(sa.select(leads).where(leads.c.id == lead_id).with_for_update()).first()
    if row is None:
        raise CampaignError(f"lead {lead_id}: no such lead")
    return row


def lead_state(conn: Connection, lead: Row[Any], campaign: StoredCampaign, now: float) -> LeadState:
    """The lead's counts as the rules read them, from its attempt rows."""
    zones = tuple(lead.time_zones or ())
    state = LeadState(LeadStatus(lead.status), zones)
    since = day_start(primary_zone(state, campaign.settings), _utc(now)).timestamp()
    today = sa.func.sum(sa.case((attempts.c.started_at >= since, 1), else_=0))
    total, made_today = conn.execute(
        sa.select(sa.func.count(attempts.c.id), today).where(attempts.c.lead_id == lead.id)
    ).one()
    by_result = conn.execute(
        sa.select(attempts.c.result, sa.func.count(attempts.c.id))
        .where(attempts.c.lead_id == lead.id, attempts.c.result.is_not(None))
        .group_by(attempts.c.result)
    ).all()
    return LeadState(
        LeadStatus(lead.status),
        zones,
        attempts=int(total),
        attempts_today=int(made_today or 0),
        results={Result(r): int(n) for r, n in by_result if r in _RESULTS},
        next_attempt_at=lead.next_attempt_at,
    )


def record_attempt(engine: Engine, lead_id: int, *, phone: str | None = None, now: float | None = None) -> int:
    """The attempt row, written BEFORE the call is placed; returns its id. Refused (AttemptRefusedError) when the
    lead may not be dialled now: its status, an attempt cap, the calling hours, or a do-not-call list."""
    at = clock(now)
    refused: str | None = None
    with transaction(engine, f"the attempt on lead {lead_id}") as conn:
        lead = _lead(conn, lead_id)
        campaign = campaign_by_id(conn, lead.campaign_id)
        number = phone or lead.phone_e164
        if number != lead.phone_e164 and number not in (lead.alt_phones or []):
            raise CampaignError(f"lead {lead_id}: {number!r} is not one of its numbers", field="phone")
        refused = may_dial(lead_state(conn, lead, campaign, at), campaign.settings, _utc(at))
        if refused is None and is_blocked(conn, number, lead.campaign_id):
            refused = "the number is on a do-not-call list"
            if number == lead.phone_e164:  # kept out of the dialer's pick from now on
                conn.execute(leads.update().where(leads.c.id == lead_id).values(status=LeadStatus.DNC.value))
        if refused is None:
            inserted = attempts.insert().values(
                lead_id=lead_id, campaign_id=lead.campaign_id, phone_e164=number, started_at=at
            )
            attempt_id = int(conn.execute(inserted.returning(attempts.c.id)).scalar_one())
            conn.execute(
                leads.update()
                .where(leads.c.id == lead_id)
                .values(status=LeadStatus.IN_PROGRESS.value, attempts=leads.c.attempts + 1, last_attempt_at=at)
            )
            return attempt_id
    raise AttemptRefusedError(f"lead {lead_id}: {refused}")


def _attempt(conn: Connection, attempt_id: int) -> Row[Any]:
    row = conn.execute(sa.select(attempts).where(attempts.c.id == attempt_id)).first()
    if row is None:
        raise CampaignError(f"attempt {attempt_id}: no such attempt")
    return row


def finish_attempt(
    engine: Engine,
    attempt_id: int,
    result: Result | str,
    *,
    now: float | None = None,
    answered_at: float | None = None,
    operator: str | None = None,
    wait_s: float | None = None,
    talk_s: float | None = None,
    recording: str | None = None,
    hangup_cause: int | None = None,
    uniqueid: str | None = None,
    call_id: str | None = None,
    note: str | None = None,
) -> LeadUpdate | None:
    """The attempt's result, and the lead moved on by the result's retry rule (None: a disposition already did).
    `note`: what the dialer adds (a message left on a machine), kept before any note of the operator's."""
    try:
        outcome = Result(result)
    except ValueError:
        raise CampaignError(f"result = {result!r}: not one of {', '.join(r.value for r in Result)}") from None
    at = clock(now)
    with transaction(engine, f"the result of attempt {attempt_id}") as conn:
        attempt = _attempt(conn, attempt_id)
        if attempt.result is not None:
            raise CampaignError(f"attempt {attempt_id}: already ended with {attempt.result!r}")
        conn.execute(
            attempts.update()
            .where(attempts.c.id == attempt_id)
            .values(
                result=outcome.value,
                ended_at=at,
                answered_at=answered_at,
                operator=operator if operator is not None else attempt.operator,
                wait_s=wait_s,
                talk_s=talk_s,
                recording=recording,
                hangup_cause=hangup_cause,
                uniqueid=uniqueid if uniqueid is not None else attempt.uniqueid,
                call_id=call_id if call_id is not None else attempt.call_id,
                abandoned=outcome == Result.ABANDONED,
                note=note if note is not None else attempt.note,
            )
        )
        lead = _lead(conn, attempt.lead_id)
        values: dict[str, Any] = {"last_result": outcome.value}
        update = None
        # The operator's disposition (faster than the hangup event) or a DNC entry has already decided the lead.
        if attempt.disposition_id is None and lead.status == LeadStatus.IN_PROGRESS:
            campaign = campaign_by_id(conn, lead.campaign_id)
            update = after_result(lead_state(conn, lead, campaign, at), outcome, campaign.settings, _utc(at))
            values |= {"status": update.status.value, "next_attempt_at": update.next_attempt_at}
        conn.execute(leads.update().where(leads.c.id == lead.id).values(**values))
        return update


def record_disposition(
    engine: Engine,
    attempt_id: int,
    code: str,
    *,
    refusal_reason: str | None = None,
    note: str | None = None,
    order_form: Mapping[str, object] | None = None,
    survey: Mapping[str, object] | None = None,
    score: int | None = None,
    callback_at: dt.datetime | None = None,
    callback_zone: str | None = None,
    callback_personal: bool = False,
    now: float | None = None,
) -> DispositionRecorded:
    """What the operator recorded after a person answered, in one transaction with its effects on the lead: the
    callback row (a wall-clock time in the lead's zone, or `callback_zone`; for this operator when personal),
    and the number on the system-wide do-not-call list for "asked not to be called"."""
    at = clock(now)
    with transaction(engine, f"the disposition of attempt {attempt_id}") as conn:
        attempt = _attempt(conn, attempt_id)
        if attempt.result not in (None, Result.ANSWERED.value):
            raise DispositionError(f"attempt {attempt_id} ended {attempt.result!r}: no person answered")
        if attempt.disposition_id is not None:
            raise DispositionError(f"attempt {attempt_id} already has a disposition")
        lead = _lead(conn, attempt.lead_id)
        campaign = campaign_by_id(conn, lead.campaign_id)
        state = lead_state(conn, lead, campaign, at)
        try:
            checked = _check(campaign, code, refusal_reason, order_form, survey, score)
            zone = callback_zone or primary_zone(state, campaign.settings)
            due = None if callback_at is None else callback_instant(callback_at, zone, campaign.settings, at)
            outcome = apply_disposition(
                state, checked["disposition"], checked["reason"], due, campaign.settings, _utc(at)
            )
        except CampaignDataError as exc:
            raise DispositionError(f"attempt {attempt_id}: {exc}", field=exc.field) from None
        disposition_ids, reason_ids = outcome_ids(conn, campaign)
        conn.execute(
            attempts.update()
            .where(attempts.c.id == attempt_id)
            .values(
                disposition_id=disposition_ids[code],
                refusal_reason_id=None if refusal_reason is None else reason_ids[refusal_reason],
                note=note,
                order_form=checked["order_form"],
                survey=checked["survey"],
                score=score if score is not None else attempt.score,
                disposed_at=at,
            )
        )
        update = outcome.update
        conn.execute(
            leads.update()
            .where(leads.c.id == lead.id)
            .values(status=update.status.value, next_attempt_at=update.next_attempt_at)
        )
        settle_callbacks(conn, lead.id, at)
        if outcome.add_to_dnc:
            reason = f"disposition {code}" + (f" / {refusal_reason}" if refusal_reason else "")
            add_numbers(conn, [attempt.phone_e164], campaign_id=None, now=at, source="operator", reason=reason)
        callback_id = None
        if outcome.callback_at is not None:
            operator = attempt.operator if callback_personal else None
            callback_id = insert_callback(
                conn, lead, attempt.phone_e164, outcome.callback_at, zone, operator, at, note, attempt_id=attempt_id
            )
        return DispositionRecorded(
            attempt_id, int(lead.id), update.status.value, update.next_attempt_at, outcome.add_to_dnc, callback_id
        )


def _check(
    campaign: StoredCampaign,
    code: str,
    refusal_reason: str | None,
    order_form: Mapping[str, object] | None,
    survey: Mapping[str, object] | None,
    score: int | None,
) -> dict[str, Any]:
    settings = campaign.settings
    disposition = settings.disposition(code)
    reason = None if refusal_reason is None else settings.refusal_reason(refusal_reason)
    form = None
    if order_form is not None or (disposition.success and settings.order_form):
        form = check_form(settings.order_form, order_form or {}, "order_form")
    answers = None if survey is None else check_form(settings.survey, survey, "survey")
    check_score(score)
    return {"disposition": disposition, "reason": reason, "order_form": form, "survey": answers}


def check_score(score: object) -> None:
    if score is not None and (isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5):
        raise CampaignDataError("score", score, "a whole number from 1 to 5")


def score_attempt(engine: Engine, attempt_id: int, score: int | None) -> None:
    """A supervisor's quality score (1 to 5, None to clear) on a call an operator handled."""
    try:
        check_score(score)
    except CampaignDataError as exc:
        raise CampaignError(f"attempt {attempt_id}: {exc}", field="score") from None
    with transaction(engine, f"the score of attempt {attempt_id}") as conn:
        attempt = _attempt(conn, attempt_id)
        if attempt.operator is None:
            raise CampaignError(f"attempt {attempt_id}: no operator took this call, there is nothing to score")
        conn.execute(attempts.update().where(attempts.c.id == attempt_id).values(score=score))
