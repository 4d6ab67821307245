"""`switchboard operator`: an operator's screen for the call they are on, and the disposition that closes it.

The screen comes from the running platform's live state (Redis: who is on which call) and the store (the lead,
its campaign's script with the lead's fields filled in, the order form prefilled, the dispositions to choose from).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import click
from redis.exceptions import RedisError

from switchboard import keys
from switchboard.cli.base import CliContext, cli, config_option, emit
from switchboard.errors import SwitchboardError

ATTEMPT_CHANNEL = "switchboard-out-"  # switchboard.outbound.CHANNEL_PREFIX: the dialer's calls name their attempt


@cli.group("operator")
def operator() -> None:
    """What an operator sees and records: the screen pop of the current call, the disposition after it."""


@operator.command("screen")
@click.argument("sip_user")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the screen as JSON.")
@click.pass_obj
def screen(obj: CliContext, sip_user: str, as_json: bool) -> None:
    """The screen pop for SIP_USER's current call: the lead, the script, the order form (campaign calls), or the
    caller and the queue (hotline calls)."""
    from switchboard.store.calls import make_engine
    from switchboard.store.campaigns import operator_view

    site = obj.site()
    call = _current_call(site.redis_url, sip_user)
    if call is None:
        emit({"operator": sip_user, "call": None}, as_json, f"{sip_user} is not on a call")
        return
    uniqueid, data = call
    if not uniqueid.startswith(ATTEMPT_CHANNEL):
        view = {"operator": sip_user, "call": uniqueid, "queue": data.get("queue"), "direction": "inbound"}
        emit(view, as_json, f"{sip_user}: hotline call in queue {data.get('queue')}")
        return
    attempt_id = int(uniqueid.removeprefix(ATTEMPT_CHANNEL))
    engine = make_engine(site.store_url_effective)
    lead_id = _lead_of(engine, attempt_id)
    view = {"operator": sip_user, "call": uniqueid, "attempt_id": attempt_id, "direction": "outbound"}
    view |= operator_view(engine, lead_id, operator=sip_user)
    emit(view, as_json, f"attempt {attempt_id}, campaign {view['campaign']}\n\n{view['script']}")


@operator.command("dispose")
@click.argument("attempt_id", type=int)
@click.argument("code")
@click.option("--reason", default=None, help="The refusal reason's code (for a refusal).")
@click.option("--note", default=None, help="Free text.")
@click.option("--field", "fields", multiple=True, metavar="NAME=VALUE", help="An order form field (repeatable).")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print what was recorded as JSON.")
@click.pass_obj
def dispose(
    obj: CliContext,
    attempt_id: int,
    code: str,
    reason: str | None,
    note: str | None,
    fields: tuple[str, ...],
    as_json: bool,
) -> None:
    """Record the disposition of ATTEMPT_ID (sale, refused --reason too_expensive, callback ...)."""
    from switchboard.store.attempts import record_disposition
    from switchboard.store.calls import make_engine

    form: dict[str, object] = {}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{item!r}: write NAME=VALUE", param_hint="--field")
        form[name] = value
    engine = make_engine(obj.site().store_url_effective)
    try:
        done = record_disposition(engine, attempt_id, code, refusal_reason=reason, note=note, order_form=form or None)
    except SwitchboardError as exc:
        raise click.ClickException(str(exc)) from None
    row = {"attempt_id": done.attempt_id, "lead_id": done.lead_id, "status": done.status, "dnc": done.dnc_added}
    emit(row, as_json, f"attempt {attempt_id}: {code}; the lead is now {done.status}")


def _current_call(redis_url: str, sip_user: str) -> tuple[str, dict[str, Any]] | None:
    import redis.asyncio as aioredis

    async def read() -> dict[Any, Any]:
        client = aioredis.from_url(redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
        try:
            return dict(await client.hgetall(keys.calls_in_progress()))  # text: decode_responses
        finally:
            await client.aclose()

    try:
        calls = asyncio.run(read())
    except (OSError, RedisError) as exc:
        raise click.ClickException(f"redis_url = {redis_url!r}: cannot read the live calls: {exc}") from None
    for uniqueid, text in calls.items():  # str: decode_responses
        data = json.loads(text)
        if data.get("operator") == sip_user and data.get("answered_at"):
            return uniqueid, data
    return None


def _lead_of(engine: Any, attempt_id: int) -> int:
    import sqlalchemy as sa

    from switchboard.store.schema import attempts

    with engine.connect() as conn:
        lead_id = conn.execute(sa.select(attempts.c.lead_id).where(attempts.c.id == attempt_id)).scalar()
    if lead_id is None:
        raise click.ClickException(f"attempt {attempt_id}: no such attempt")
    return int(lead_id)
