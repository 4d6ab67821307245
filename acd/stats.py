"""Queue figures as a supervisor reads them: service level (both of Asterisk's definitions), ASA, abandons, AHT.

A tally is a frozen count; each finished call adds to it; figures are computed from the tally alone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class QueueTally:
    """Counts since the start of the day (or of the platform) for one queue."""

    offered: int = 0
    answered: int = 0
    answered_in_sl: int = 0
    abandoned: int = 0
    abandoned_in_sl: int = 0  # hung up before the target: Asterisk's second definition counts these as served
    timed_out: int = 0
    wait_answered_s: float = 0.0  # total wait of answered calls
    talk_s: float = 0.0  # total talk of completed calls
    wrapup_s: float = 0.0
    completed: int = 0  # answered calls that have ended (AHT is over these)


def offered(tally: QueueTally) -> QueueTally:
    return replace(tally, offered=tally.offered + 1)


def answered(tally: QueueTally, wait_s: float, sl_seconds: float) -> QueueTally:
    in_sl = 1 if wait_s <= sl_seconds else 0
    return replace(
        tally,
        answered=tally.answered + 1,
        answered_in_sl=tally.answered_in_sl + in_sl,
        wait_answered_s=tally.wait_answered_s + wait_s,
    )


def abandoned(tally: QueueTally, wait_s: float, sl_seconds: float) -> QueueTally:
    in_sl = 1 if wait_s <= sl_seconds else 0
    return replace(tally, abandoned=tally.abandoned + 1, abandoned_in_sl=tally.abandoned_in_sl + in_sl)


def timed_out(tally: QueueTally) -> QueueTally:
    return replace(tally, timed_out=tally.timed_out + 1)


def completed(tally: QueueTally, talk_s: float, wrapup_s: float) -> QueueTally:
    return replace(
        tally, completed=tally.completed + 1, talk_s=tally.talk_s + talk_s, wrapup_s=tally.wrapup_s + wrapup_s
    )


@dataclass(frozen=True, slots=True)
class QueueFigures:
    service_level: float  # answered within target / (answered + abandoned): app_queue's ServicelevelPerf
    service_level_2: float  # (answered + abandoned within target) / (answered + abandoned): ServicelevelPerf2
    asa_s: float
    abandon_rate: float
    aht_s: float


def figures(tally: QueueTally) -> QueueFigures:
    finished = tally.answered + tally.abandoned
    return QueueFigures(
        service_level=_ratio(tally.answered_in_sl, finished),
        service_level_2=_ratio(tally.answered_in_sl + tally.abandoned_in_sl, finished),
        asa_s=_ratio(tally.wait_answered_s, tally.answered),
        abandon_rate=_ratio(tally.abandoned, finished),
        aht_s=_ratio(tally.talk_s + tally.wrapup_s, tally.completed),
    )


def _ratio(part: float, whole: float) -> float:
    """0 when nothing has happened yet: an empty queue shows no service level to worry about, not 'nan'."""
    return part / whole if whole else 0.0
