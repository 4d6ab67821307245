"""Who may take a call at a given moment: the skill levels a call needs as its wait grows, and who holds them.

Widening lowers the bar step by step, never below the queue's own level; holding a skill means level 1 or more.
"""

from __future__ import annotations

from collections.abc import Mapping

from acd.model import CallView, OperatorView, Step


def step_floor(steps: tuple[Step, ...], wait: float) -> int:
    """The level the widening steps ask of each required skill after `wait` seconds (0 without steps).

    The latest step whose `after_s` has passed applies; before the first one, the first step's level applies,
    so a queue whose first step starts late is as strict while it waits for it as that step (never laxer).
    """
    if not steps:
        return 0
    current: Step | None = None
    for step in steps:  # steps are few and may come in any order: a scan beats sorting
        if step.after_s <= wait and (current is None or step.after_s >= current.after_s):
            current = step
    if current is None:
        current = min(steps, key=lambda step: step.after_s)
    return current.min_level


def required_levels(call: CallView, now: float) -> Mapping[str, int]:
    """The level the call needs in each required skill at `now`, widening applied."""
    floor = step_floor(call.steps, now - call.arrived_at)
    return {skill: max(base, floor, 1) for skill, base in call.requires.items()}


def holds(skills: Mapping[str, int], requires: Mapping[str, int], floor: int) -> bool:
    """Skills `skills` meet every requirement raised to `floor` (the allocation-free core of `is_qualified`)."""
    for skill, base in requires.items():  # noqa: SIM110 - a plain loop is twice as fast as all() on the hot path
        if skills.get(skill, 0) < max(base, floor, 1):
            return False
    return True


def is_qualified(operator: OperatorView, call: CallView, now: float | None = None) -> bool:
    """The operator holds every skill the call requires at `now` (at its arrival when `now` is None)."""
    wait = 0.0 if now is None else now - call.arrived_at
    return holds(operator.skills, call.requires, step_floor(call.steps, wait))


def surplus(operator: OperatorView, call: CallView, now: float) -> int:
    """How far the operator's levels exceed what the call needs at `now`, summed over the required skills.

    Closest match routes on it: a small surplus keeps the specialists free for the calls that need them.
    """
    return excess(operator.skills, call.requires, step_floor(call.steps, now - call.arrived_at))


def levels_held(skills: Mapping[str, int]) -> int:
    """Every level the operator holds, summed over all their skills: how much of the floor's demand they can meet.

    Best fit routes on it: for one call, fewer levels held means fewer left unused by that call (see strategies).
    """
    total = 0
    for level in skills.values():
        if level > 0:  # a level of 0 or less is not holding the skill
            total += level
    return total


def lowest_floor_within_target(steps: tuple[Step, ...], sl_seconds: float) -> int:
    """The lowest level the widening asks while a call can still be answered within its target (< sl_seconds).

    Qualification only grows as the level asked falls, so whoever holds a queue's skills at this level is everyone
    who could answer one of its calls in time: the specialist reserve counts those (acd.routing).
    """
    floors = [step_floor(steps, 0.0)]
    floors.extend(step_floor(steps, step.after_s) for step in steps if step.after_s < sl_seconds)
    return min(floors)


def excess(skills: Mapping[str, int], requires: Mapping[str, int], floor: int) -> int:
    """The allocation-free core of `surplus`, for skills known to meet the requirements."""
    total = 0
    for skill, base in requires.items():
        total += skills.get(skill, 0) - max(base, floor, 1)
    return total
