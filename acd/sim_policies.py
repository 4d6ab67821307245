"""The routing policies the simulator compares: ours (`skills`, the production routing code) and the peers.

`make_policy` builds one by name; the peers (app_queue, mod_callcenter) live in acd.sim_peers.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence

from acd.routing import choose_call, choose_operator
from acd.sim_floor import Floor, Match, Policy, SimCall, SimOperator
from acd.sim_peers import AppQueuePolicy, ModCallcenterPolicy
from acd.sim_scenario import Scenario

POLICY_NAMES = ("skills", "app_queue:leastrecent", "app_queue:ringall", "mod_callcenter:longest-idle")


def meets(skills: Mapping[str, int], levels: Mapping[str, int]) -> bool:
    """The operator holds every skill at least at the level asked."""
    return all(skills.get(skill, 0) >= level for skill, level in levels.items())


class SkillsPolicy:
    """Switchboard's ACD: the very functions production calls, fed the simulated floor.

    A new call goes to `choose_operator`; a freed operator picks with `choose_call` among the calls they qualify
    for, knowing who else is free (as the shell's `assign` does); at each widening step a waiting call is offered
    again. Nobody is ever given a call they don't qualify for.
    """

    name = "skills"

    def __init__(self, operators: Sequence[SimOperator]) -> None:
        self._by_user = {op.sip_user: op for op in operators}

    def wake_offsets(self, call: SimCall) -> Iterable[float]:
        return [step.after_s for step in call.view.steps if step.after_s > 0]

    def on_arrival(self, call: SimCall, floor: Floor, now: float) -> list[Match]:
        if not floor.idle:
            return []
        decision = choose_operator(call.view, [op.view() for op in floor.idle.values()], now)
        return [] if decision.operator is None else [(call, self._by_user[decision.operator])]

    def on_wake(self, call: SimCall, floor: Floor, now: float) -> list[Match]:
        return self.on_arrival(call, floor, now)

    def on_free(self, operator: SimOperator, floor: Floor, now: float) -> list[Match]:
        if not floor.waiting:
            return []
        free = [op.view() for op in floor.idle.values()]  # the freed operator among them
        chosen = choose_call(operator.view(), [c.view for c in floor.waiting.values()], now, free_operators=free)
        return [] if chosen is None else [(floor.waiting[int(chosen.call_id)], operator)]

    def on_abandon(self, floor: Floor, now: float) -> list[Match]:
        return []  # a caller leaving changes nobody's qualification


def make_policy(name: str, scenario: Scenario, operators: Sequence[SimOperator], rng: random.Random) -> Policy:
    """The policy called `name` (one of POLICY_NAMES), set up for this scenario's queues and operators."""
    if name == "skills":
        return SkillsPolicy(operators)
    if name in ("app_queue:leastrecent", "app_queue:ringall"):
        return AppQueuePolicy(scenario, operators, ringall=name.endswith("ringall"), rng=rng)
    if name == "mod_callcenter:longest-idle":
        return ModCallcenterPolicy(scenario, operators)
    raise ValueError(f"policy = {name!r}: unknown policy (one of {', '.join(POLICY_NAMES)})")
