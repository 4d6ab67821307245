"""The dialer's pacing shell: the floor it reads from the live picture, each method's decision through the same
pacing code the simulator runs, what it learns from attempts, and its memory rebuilt from the store."""

from __future__ import annotations

import pytest

from dialer.campaigns.model import Result
from dialer.pacing import Method
from switchboard.config import DialerSection, parse_site
from switchboard.events import CallerHungUp, OperatorAnswered, PhoneStateChanged
from switchboard.outbound_pacing import Pacer, PastAttempt, Ringing, free_operators, pacing_params
from switchboard.picture import Picture
from tests.unit.test_picture_moves import SITE

GENERAL = ("op1", "op2")  # the operators of SITE's `general` queue (wrap-up 5 s)


def _floor_picture() -> Picture:
    """op1 and op2 in session mode and free; boss and taxman's phones are not in the general queue."""
    picture = Picture(SITE)
    for op in SITE.operators:
        picture.apply(PhoneStateChanged(op.sip_user, "NOT_INUSE", 0.0))
    for n, user in enumerate(GENERAL):
        assert picture.start_session(user, f"sess-{n}", 1.0)
        picture.apply(PhoneStateChanged(user, "INUSE", 1.1))
    return picture


def _team(size: int) -> Picture:
    """A team of `size` operators of one queue, all in session mode and free."""
    site = parse_site(
        {
            "skills": ["general"],
            "ami": {"secret": "unit-test-secret-1", "admin_secret": "unit-test-secret-2"},
            "acd": {"login_required": False},
            "queues": [{"name": "general", "requires": {"general": 1}}],
            "operators": [
                {"sip_user": f"op{n}", "secret": f"operator-secret-{n}", "name": f"O{n}", "skills": {"general": 2}}
                for n in range(size)
            ],
        }
    )
    picture = Picture(site)
    for n, op in enumerate(site.operators):
        picture.apply(PhoneStateChanged(op.sip_user, "NOT_INUSE", 0.0))
        assert picture.start_session(op.sip_user, f"sess-{n}", 1.0)
        picture.apply(PhoneStateChanged(op.sip_user, "INUSE", 1.1))
    return picture


def _dialer(**settings: object) -> DialerSection:
    return DialerSection.model_validate({"campaign": "Spring", "queue": "general", **settings})


def test_the_floor_counts_session_operators_free_talking_and_in_wrap_up() -> None:
    """A talking operator counts from the answer, one in wrap-up from the end of the call."""
    picture = _floor_picture()
    pacer = Pacer(_dialer(method="predictive"), wrapup_s=5.0)
    assert free_operators(pacer.dialer, picture, 2.0) == 2
    picture.route_outbound("switchboard-out-1", "+15550000001", "general", 2.0)
    picture.apply(OperatorAnswered("switchboard-out-1", 2.3, "", picture.calls["switchboard-out-1"].operator or ""))
    floor = pacer.floor(picture, [Ringing(1.5, 0.01)], waiting=0, now=3.0)
    assert (floor.free, floor.talking_since, floor.wrapup_since) == (1, (2.3,), ())
    assert floor.ringing_since == (1.5,) and floor.ringing_risk == (0.01,)
    picture.apply(CallerHungUp("switchboard-out-1", 16, 40.0))
    floor = pacer.floor(picture, [], waiting=0, now=41.0)
    assert (floor.free, floor.talking_since, floor.wrapup_since) == (1, (), (40.0,))


@pytest.mark.parametrize(("method", "ratio", "ringing", "expected"), [
    ("progressive", 1.0, 0, 2), ("progressive", 1.0, 1, 1), ("power", 2.5, 0, 5), ("power", 2.5, 4, 1),
])  # fmt: skip
def test_progressive_and_power_decide_through_the_pacing_code(
    method: str, ratio: float, ringing: int, expected: int
) -> None:
    """Two free operators: progressive dials one each, power R x free, less what is already ringing."""
    pacer = Pacer(_dialer(method=method, ratio=ratio))
    calls = [Ringing(1.0) for _ in range(ringing)]
    assert pacer.launches(_floor_picture(), calls, waiting=0, now=2.0) == expected


def test_the_line_limit_caps_every_method() -> None:
    pacer = Pacer(_dialer(method="power", ratio=5.0, max_lines=3))
    assert pacer.launches(_floor_picture(), [Ringing(1.0)], waiting=0, now=2.0) == 2


def test_a_fresh_predictive_campaign_dials_at_least_progressively_and_keeps_its_risks() -> None:
    """With no answers yet in its window the governor holds predictive at progressive; risks are one per call."""
    pacer = Pacer(_dialer(method="predictive"))
    wanted = pacer.launches(_floor_picture(), [], waiting=0, now=2.0)
    assert wanted >= 2 and len(pacer.last_risks) == wanted


def test_a_campaign_with_a_clean_record_dials_ahead_of_its_free_operators() -> None:
    """After hundreds of answered calls and no drop, predictive launches more calls than operators are free (a
    fresh campaign's memory does not: its window has no room yet)."""
    pacer = Pacer(_dialer(method="predictive", max_lines=100))
    assert pacer.launches(_team(10), [], waiting=0, now=4100.0) == 10
    history = [
        PastAttempt(t, t + 30, Result.ANSWERED if t % 4 == 0 else Result.NO_ANSWER, t + 8.0, 90.0)
        for t in range(0, 4000, 5)
    ]
    pacer.rebuild(history, now=4100.0)
    assert pacer.launches(_team(10), [], waiting=0, now=4100.0) > 15


def test_rebuild_counts_the_legal_window_at_the_attempts_own_times() -> None:
    """Answers older than the window are not counted; abandoned ones inside it are."""
    pacer = Pacer(_dialer(method="predictive", window="24h"))
    day = 86400.0
    history = [PastAttempt(0.0, 10.0, Result.ABANDONED, 5.0)] + [
        PastAttempt(day + n, day + n + 60, Result.ANSWERED if n % 2 else Result.ABANDONED, day + n + 5, 55.0)
        for n in range(10)
    ]
    pacer.rebuild(history, now=day + 100)
    assert pacer.memory.window.totals(day + 100) == (5.0, 10.0)


def test_attempts_teach_the_estimates() -> None:
    """Answers, busy signals and talks move the estimates away from the prior; failures teach nothing."""
    pacer = Pacer(_dialer(method="predictive"))
    prior = pacer.memory.estimates
    pacer.unanswered(Result.FAILED, 0.0, 1.0)
    assert pacer.memory.estimates == prior and pacer.memory.pending == ()
    pacer.unanswered(Result.BUSY, 0.0, 2.0)
    pacer.answered(0.0, 9.0, person=True)
    pacer.put_through(9.5, dropped=False)
    pacer.talk_ended(120.0)
    assert pacer.memory.estimates != prior and len(pacer.memory.pending) == 2
    assert pacer.memory.window.totals(10.0) == (0.0, 1.0)


def test_amd_runs_only_while_its_false_positives_are_cheap() -> None:
    """An audited AMD wrong on 1% of people would spend a third of the 3% cap: the dialer runs without it."""
    assert pacing_params(_dialer(method="predictive", amd=True, amd_false_positive=0.005)).amd
    assert not pacing_params(_dialer(method="predictive", amd=True, amd_false_positive=0.01)).amd
    assert pacing_params(_dialer(method="power", ratio=2.0)).method is Method.POWER
