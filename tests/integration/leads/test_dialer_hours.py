"""The dialer shell against the store with a frozen clock: at 20:59:59 local time a lead is dialled, at 21:00:00 it
is not, in several time zones at once; a do-not-call number is never dialled; every Originate follows its attempt
row; an Originate the AMI refuses is closed as failed and never sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from switchboard.config import parse_site
from switchboard.errors import AmiActionError
from switchboard.events import PhoneStateChanged
from switchboard.outbound import OutboundDialer
from switchboard.picture import Picture
from switchboard.store.dnc import add_numbers
from switchboard.store.schema import attempts, campaigns
from tests.integration.leads.campaign_helpers import add_leads, make_campaign

ZONES = ("Europe/Kaliningrad", "Europe/Moscow", "Asia/Vladivostok")
SITE = parse_site(
    {
        "skills": ["sales"],
        "ami": {"secret": "unit-test-secret-1", "admin_secret": "unit-test-secret-2"},
        "acd": {"login_required": False},
        "queues": [{"name": "sales", "requires": {"sales": 1}}],
        "operators": [
            {"sip_user": f"op{n}", "secret": f"operator-secret-{n}", "name": f"Op {n}", "skills": {"sales": 1}}
            for n in range(6)
        ],
        "dialers": [{"campaign": "Hours", "queue": "sales", "max_lines": 10}],
    }
)


class RecordingAmi:
    """The AMI as the dialer sees it: connected, no live channels, and every Originate kept (or refused)."""

    connected = True

    def __init__(self, engine: Engine, refuse: bool = False) -> None:
        self.engine, self.refuse = engine, refuse
        self.originates: list[dict[str, str]] = []
        self.rows_first: list[bool] = []

    async def action(self, name: str, headers: dict[str, str] | None = None, **_: Any) -> dict[str, str]:
        assert name == "Originate" and headers is not None
        attempt_id = int(headers["ChannelId"].rsplit("-", 1)[1])
        with self.engine.connect() as conn:  # the row is committed before the action goes out
            self.rows_first.append(
                conn.execute(sa.select(attempts.c.id).where(attempts.c.id == attempt_id)).first() is not None
            )
        self.originates.append(headers)
        if self.refuse:
            raise AmiActionError("Originate failed")
        return {"Response": "Success"}

    async def list_action(self, name: str, headers: dict[str, str] | None = None, **_: Any) -> list[dict[str, str]]:
        return []


def _dialer(engine: Engine, ami: RecordingAmi, at: float) -> OutboundDialer:
    picture = Picture(SITE)
    for n in range(6):
        picture.apply(PhoneStateChanged(f"op{n}", "NOT_INUSE", at))
        picture.start_session(f"op{n}", f"session-{n}", at)
    return OutboundDialer(SITE, engine, ami, picture, clock=lambda: at)  # type: ignore[arg-type]


def _local(zone: str, hour: int, minute: int, second: int) -> float:
    return dt.datetime(2026, 3, 4, hour, minute, second, tzinfo=ZoneInfo(zone)).timestamp()


def _numbers(originates: list[dict[str, str]]) -> set[str]:
    return {h["Channel"].removeprefix("PJSIP/").removesuffix("@trunk") for h in originates}


def test_calling_hours_hold_to_the_second_in_each_zone(engine: Engine) -> None:
    """Three leads, one per zone, hours 09:00-21:00: a lead is dialled at 20:59:59 its time, never at 21:00:00."""
    campaign_id = make_campaign(engine, "Hours", hours={"every_day": "09:00-21:00"})
    phones = {zone: f"+7916555000{n}" for n, zone in enumerate(ZONES)}
    for zone, phone in phones.items():
        add_leads(engine, campaign_id, zone, [phone], zones=(zone,))
    for zone in ZONES:
        for at, dialled in ((_local(zone, 21, 0, 0), False), (_local(zone, 20, 59, 59), True)):
            ami = RecordingAmi(engine)
            asyncio.run(_tick(_dialer(engine, ami, at)))
            assert (phones[zone] in _numbers(ami.originates)) is dialled, (zone, at)
            assert all(ami.rows_first)
            with engine.begin() as conn:  # forget the attempt so the next instant starts alike
                conn.execute(attempts.delete())
                conn.execute(sa.text("UPDATE leads SET status = 'new', attempts = 0, next_attempt_at = NULL"))


def test_a_do_not_call_number_is_never_dialled(engine: Engine) -> None:
    campaign_id = make_campaign(engine, "Hours", hours={"every_day": "00:00-24:00"})
    add_leads(engine, campaign_id, "list", ["+79165550010", "+79165550011"])
    with engine.begin() as conn:
        add_numbers(conn, ["+79165550011"], campaign_id=None, now=0.0, source="test")
    ami = RecordingAmi(engine)
    asyncio.run(_tick(_dialer(engine, ami, _local("Europe/Moscow", 12, 0, 0))))
    assert _numbers(ami.originates) == {"+79165550010"}


def test_an_originate_the_ami_refuses_is_closed_as_failed_and_not_sent_again(engine: Engine) -> None:
    campaign_id = make_campaign(engine, "Hours", hours={"every_day": "00:00-24:00"})
    add_leads(engine, campaign_id, "list", ["+79165550020"])
    ami = RecordingAmi(engine, refuse=True)
    dialer = _dialer(engine, ami, _local("Europe/Moscow", 12, 0, 0))
    asyncio.run(_tick(dialer))
    asyncio.run(_tick(dialer))
    assert len(ami.originates) == 1 and dialer.inflight == {}
    with engine.connect() as conn:
        (result,) = conn.execute(sa.select(attempts.c.result)).scalars().all()
        assert result == "failed"
        assert conn.execute(sa.select(campaigns.c.status)).scalar_one() == "active"


async def _tick(dialer: OutboundDialer) -> None:
    await dialer.tick()
    await dialer.tick()  # the first tick reads the campaign and recovers; the second places calls
