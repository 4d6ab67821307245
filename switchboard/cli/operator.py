"""`switchboard operator`: log in, out, pause and unpause (over the platform's command bus), the screen pop of the
call on, the disposition that closes it, and a request for days off.

The screen comes from the running platform's live state (Redis: who is on which call) and the store
(switchboard/operator_screen.py, shared with the console's operator desk).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import click
from redis.exceptions import RedisError

from switchboard import keys
from switchboard.cli.base import CliContext, cli, cli_user, config_option, emit
from switchboard.errors import SwitchboardError


@cli.group("operator")
def operator() -> None:
    """What an operator does and sees: state (login, pause ...), the screen pop, the disposition, days off."""


@operator.command("screen")
@click.argument("sip_user")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the screen as JSON.")
@click.pass_obj
def screen(obj: CliContext, sip_user: str, as_json: bool) -> None:
    """The screen pop for SIP_USER's current call: the lead, past contacts, the script, the order form (campaign
    calls), or the caller, the queue and earlier calls from that number (hotline calls)."""
    from switchboard.operator_screen import screen_pop
    from switchboard.store.calls import make_engine

    site = obj.site()
    call = _current_call(site.redis_url, sip_user)
    try:
        view = screen_pop(make_engine(site.store_url_effective), site, sip_user, call, time.time())
    except SwitchboardError as exc:
        raise click.ClickException(str(exc)) from None
    if view["call"] is None:
        emit(view, as_json, f"{sip_user} is not on a call")
    elif view["direction"] == "inbound":
        emit(view, as_json, f"{sip_user}: hotline call in queue {view.get('queue')} from {view.get('caller')}")
    else:
        emit(view, as_json, f"attempt {view['attempt_id']}, campaign {view['campaign']}\n\n{view['script']}")


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

    from switchboard.operator_screen import current_call

    async def read() -> tuple[str, dict[str, Any]] | None:
        client = aioredis.from_url(redis_url, decode_responses=True, socket_timeout=2, socket_connect_timeout=2)
        try:
            return await current_call(client, sip_user)
        finally:
            await client.aclose()

    try:
        return asyncio.run(read())
    except (OSError, RedisError) as exc:
        raise click.ClickException(f"redis_url = {redis_url!r}: cannot read the live calls: {exc}") from None


# -- The operator's state, over the platform's command bus (as the phone's *41, *42, *43X, *44 do it) ---------------
def _command(obj: CliContext, name: str, args: dict[str, str]) -> dict[str, Any]:
    from switchboard.commands import send_sync

    site = obj.site()
    try:
        return send_sync(site.redis_url, name, args, sender=cli_user())
    except SwitchboardError as exc:
        raise click.ClickException(str(exc)) from None


def _show_state(result: dict[str, Any], as_json: bool) -> None:
    reason = f" ({result['paused_reason']})" if result.get("paused_reason") else ""
    session = ", session mode" if result.get("session") else ""
    emit(result, as_json, f"{result['sip_user']}: {result['state']}{reason}{session}")


def _state_command(action: str, name: str, help_text: str) -> None:
    @operator.command(action, help=help_text)
    @click.argument("sip_user")
    @config_option
    @click.option("--json", "as_json", is_flag=True, help="Print the operator's new state as JSON.")
    @click.pass_obj
    def command(obj: CliContext, sip_user: str, as_json: bool) -> None:
        _show_state(_command(obj, name, {"sip_user": sip_user}), as_json)


_state_command("login", keys.COMMAND_OPERATOR_LOGIN, "Log SIP_USER in to their queues (as *41 on the phone).")
_state_command("logout", keys.COMMAND_OPERATOR_LOGOUT, "Log SIP_USER out of their queues (as *42 on the phone).")
_state_command("unpause", keys.COMMAND_OPERATOR_UNPAUSE, "End SIP_USER's pause (as *44 on the phone).")
_state_command("status", keys.COMMAND_OPERATOR_STATUS, "SIP_USER's state as the running platform sees it.")


@operator.command("pause")
@click.argument("sip_user")
@click.option("--reason", required=True, metavar="CODE", help="The reason's digit (as *43X) or name: 1 lunch ...")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the operator's new state as JSON.")
@click.pass_obj
def pause(obj: CliContext, sip_user: str, reason: str, as_json: bool) -> None:
    """Pause SIP_USER with a reason (as *43X on the phone): 1 lunch, 2 training, 3 mentoring, 4 outbound work,
    5 break."""
    _show_state(_command(obj, keys.COMMAND_OPERATOR_PAUSE, {"sip_user": sip_user, "reason": reason}), as_json)


@operator.command("days-off")
@click.argument("account")
@click.argument("first_day")
@click.argument("last_day", required=False)
@click.option("--reason", default=None, help="Why (shown to the supervisor).")
@config_option
@click.option("--json", "as_json", is_flag=True, help="Print the request as JSON.")
@click.pass_obj
def request_days_off(
    obj: CliContext, account: str, first_day: str, last_day: str | None, reason: str | None, as_json: bool
) -> None:
    """Ask for days off for ACCOUNT (a console user) from FIRST_DAY to LAST_DAY (YYYY-MM-DD, at least 7 days
    ahead; LAST_DAY defaults to FIRST_DAY); a supervisor approves it into the roster."""
    from switchboard.store import days_off
    from switchboard.store.calls import make_engine

    site = obj.site()
    engine = make_engine(site.store_url_effective)
    try:
        row = days_off.request_days_off(
            engine, account, first_day, last_day or first_day, reason, time.time(), site.time_zone
        )
    except SwitchboardError as exc:
        raise click.ClickException(str(exc)) from None
    emit(row, as_json, f"request {row['id']}: {account} off {row['first_day']}..{row['last_day']}, pending")
