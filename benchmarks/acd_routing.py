"""How many routing decisions a second the pure ACD engine makes on one core: prints one JSON line.

1,000 operators over 50 skills (3-8 each, 30% available) and 200 waiting calls needing 1-3 skills, half with widening;
then the same floor with the specialist reserve on, its calls stamped by 20 queues.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd.index import OperatorIndex, WaitingIndex
from acd.model import CallView, OperatorView, Presence, QueueRule, Step
from acd.routing import HELD, Reserve, assign, choose_call, choose_operator, ready_to_offer

SKILLS = [f"skill{n:02d}" for n in range(50)]
BUSY = (Presence.ON_CALL, Presence.WRAP_UP, Presence.PAUSED, Presence.OFFERED)
WIDENING = (Step(0, 4), Step(30, 2), Step(90, 1))  # the example: 0-30 s level 4, 30-90 s level 2, then anyone
NOW = 36_000.0
ARRIVING, FREED = 997, 991  # prime pool sizes, so the (call, operator) pairs keep changing
QUEUES = 20


@dataclass
class Floor:
    """One generated call-centre floor, and the traffic replayed against it."""

    operators: list[OperatorView]
    waiting: list[CallView]
    arriving: list[CallView]  # calls that arrive at NOW and ask for an operator
    freed: list[OperatorView]  # operators who become free at NOW and ask for a call


def make_floor(seed: int) -> Floor:
    rng = random.Random(seed)
    operators = [make_operator(rng, n, rng.random() < 0.3) for n in range(1000)]
    waiting = [make_call(rng, n, NOW - rng.uniform(0, 180)) for n in range(200)]
    arriving = [make_call(rng, 10_000 + n, NOW) for n in range(ARRIVING)]
    freed = [OperatorView(op.sip_user, Presence.AVAILABLE, op.skills, NOW) for op in rng.sample(operators, FREED)]
    return Floor(operators, waiting, arriving, freed)


def make_operator(rng: random.Random, n: int, available: bool) -> OperatorView:
    skills = {skill: rng.randint(1, 5) for skill in rng.sample(SKILLS, rng.randint(3, 8))}
    presence = Presence.AVAILABLE if available else rng.choice(BUSY)
    return OperatorView(
        f"op{n:04d}", presence, skills, NOW - rng.uniform(0, 600), rng.uniform(0, 20_000), NOW - rng.uniform(0, 900)
    )


def make_call(rng: random.Random, n: int, arrived_at: float) -> CallView:
    requires = {skill: rng.randint(1, 3) for skill in rng.sample(SKILLS, rng.randint(1, 3))}
    steps = WIDENING if rng.random() < 0.5 else ()
    return CallView(
        f"call{n:05d}", "100", "q", requires, arrived_at, rng.choice((0, 0, 0, 1)), steps, rng.choice((20.0, 60.0))
    )


@dataclass
class Site:
    """The floor again, its calls stamped by a site's queues, so the reserve knows whom to keep for what."""

    reserve: Reserve
    waiting: list[CallView]
    arriving: list[CallView]


def make_site(seed: int) -> Site:
    rng = random.Random(seed)
    rules = [make_queue(rng, n) for n in range(QUEUES)]
    waiting = [rng.choice(rules).call(f"call{n:05d}", "100", NOW - rng.uniform(0, 180)) for n in range(200)]
    arriving = [
        rng.choice(rules).call(f"call{10_000 + n:05d}", "100", NOW - rng.uniform(0, 30)) for n in range(ARRIVING)
    ]
    return Site(Reserve.of(rules), waiting, arriving)


def make_queue(rng: random.Random, n: int) -> QueueRule:
    requires = {skill: rng.randint(1, 3) for skill in rng.sample(SKILLS, rng.randint(1, 2))}
    steps = WIDENING if rng.random() < 0.5 else ()
    return QueueRule(f"q{n:02d}", requires, steps, rng.choice((0, 0, 0, 1)), rng.choice((20.0, 60.0)))


def best_rate(count: int, run: Callable[[], object], repeats: int = 3) -> float:
    """Runs per second, best of `repeats`: other processes only ever slow a run down."""
    fastest = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        fastest = min(fastest, time.perf_counter() - started)
    return count / fastest


def elapsed_ms(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1e3


def mixed(floor: Floor, ops: OperatorIndex, calls: WaitingIndex, rounds: int) -> None:
    """Half the decisions for arriving calls, half for freed operators, against one picture."""
    arriving, freed = floor.arriving, floor.freed
    for i in range(rounds):
        now = NOW + i % 120  # the whole widening range: level 4, then 2, then 1
        choose_operator(arriving[i % ARRIVING], ops, now)
        choose_call(freed[i % FREED], calls, now)


def live(floor: Floor, ops: OperatorIndex, calls: WaitingIndex, rounds: int) -> None:
    """The same mix as the engine makes it: every answer is folded into the picture the next decision sees."""
    queued: deque[str] = deque(call.call_id for call in calls.calls)
    for i in range(rounds):
        now = NOW + i * 0.05
        model = floor.arriving[i % ARRIVING]
        call = CallView(f"live{i}", "100", "q", model.requires, now, model.priority, model.steps, model.sl_seconds)
        decision = choose_operator(call, ops, now)
        if decision.operator is None:
            calls = calls.added(call)
            queued.append(call.call_id)
            if len(calls.calls) > 200:  # the longest-waiting caller gives up, so the queue stays the same size
                calls = calls.removed(queued.popleft())
        else:
            offered = ops.operators[ops.positions[decision.operator]]
            offered = OperatorView(offered.sip_user, Presence.OFFERED, offered.skills, offered.idle_since, 0.0, now)
            ops = ops.updated(offered)
        operator = OperatorView(floor.freed[i % FREED].sip_user, Presence.AVAILABLE, floor.freed[i % FREED].skills, now)
        taken = choose_call(operator, calls, now)
        if taken is not None:
            calls = calls.removed(taken.call_id)
        else:
            ops = ops.updated(operator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=50_000, help="decision pairs per timed run")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    floor = make_floor(args.seed)
    rounds = args.rounds
    build_ops_ms = elapsed_ms(lambda: OperatorIndex.build(floor.operators))
    build_calls_ms = elapsed_ms(lambda: WaitingIndex.build(floor.waiting))
    ops, calls = OperatorIndex.build(floor.operators), WaitingIndex.build(floor.waiting)
    offer = [choose_operator(floor.arriving[i % ARRIVING], ops, NOW + i % 120) for i in range(rounds)]
    pick = [choose_call(floor.freed[i % FREED], calls, NOW + i % 120) for i in range(rounds)]
    site = make_site(args.seed)
    figures = {
        "decisions_per_s": round(best_rate(2 * rounds, lambda: mixed(floor, ops, calls, rounds))),
        "mix": "50% choose_operator (arriving call), 50% choose_call (freed operator), indexes built once",
        "operators": len(floor.operators),
        "available": ops.available.bit_count(),
        "skills": len(SKILLS),
        "waiting_calls": len(floor.waiting),
        "choose_operator_per_s": round(best_rate(rounds, lambda: offer_all(floor, ops, rounds))),
        "choose_call_per_s": round(best_rate(rounds, lambda: pick_all(floor, calls, rounds))),
        "choose_call_covered_per_s": round(
            best_rate(rounds // 5, lambda: pick_covered(floor, ops, calls, rounds // 5))
        ),
        "served_share": {
            "choose_operator": round(sum(d.operator is not None for d in offer) / rounds, 3),
            "choose_call": round(sum(call is not None for call in pick) / rounds, 3),
        },
        "live_decisions_per_s": round(best_rate(2 * rounds // 5, lambda: live(floor, ops, calls, rounds // 5))),
        "live": "same mix, each answer folded back into the indexes (offered, queued, abandoned, taken, freed)",
        "plain_views_choose_operator_per_s": round(best_rate(500, lambda: plain(floor, 500), repeats=1)),
        "build_operator_index_ms": round(build_ops_ms, 2),
        "build_waiting_index_ms": round(build_calls_ms, 2),
        "assign_batch_ms": round(elapsed_ms(lambda: assign(calls, ops, NOW)), 2),
        "assign_pairs": len(assign(calls, ops, NOW)),
        **reserve_figures(site, OperatorIndex.build(floor.operators, reserve=site.reserve), rounds),
        "timing": "best of 3 runs, one process pinned to one core",
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    print(json.dumps(figures))


def reserve_figures(site: Site, ops: OperatorIndex, rounds: int) -> dict[str, object]:
    """The reserve's cost: arriving calls routed with it, and what the shell does on each tick (hold, then assign)."""
    calls = WaitingIndex.build(site.waiting)
    ready = ready_to_offer(calls, ops, NOW, site.reserve)
    offer = [
        choose_operator(site.arriving[i % ARRIVING], ops, NOW + i % 30, reserve=site.reserve) for i in range(rounds)
    ]
    return {
        "reserve": f"{QUEUES} queues, the index built for them; calls 0-60 s old, so many are before their next step",
        "reserve_choose_operator_per_s": round(best_rate(rounds, lambda: reserve_all(site, ops, rounds))),
        "reserve_held_share": round(sum(d.reason == HELD for d in offer) / rounds, 3),
        "reserve_tick_ms": round(
            elapsed_ms(lambda: assign(ready_to_offer(calls, ops, NOW, site.reserve), ops, NOW, reserve=site.reserve)), 2
        ),
        "reserve_tick_held_calls": len(calls.calls) - len(ready.calls),
    }


def reserve_all(site: Site, ops: OperatorIndex, rounds: int) -> None:
    for i in range(rounds):
        choose_operator(site.arriving[i % ARRIVING], ops, NOW + i % 30, reserve=site.reserve)


def offer_all(floor: Floor, ops: OperatorIndex, rounds: int) -> None:
    for i in range(rounds):
        choose_operator(floor.arriving[i % ARRIVING], ops, NOW + i % 120)


def pick_all(floor: Floor, calls: WaitingIndex, rounds: int) -> None:
    for i in range(rounds):
        choose_call(floor.freed[i % FREED], calls, NOW + i % 120)


def pick_covered(floor: Floor, ops: OperatorIndex, calls: WaitingIndex, rounds: int) -> None:
    """Knowing who else is free, as the simulator asks and `assign` orders (acd.cover): calls covered go last."""
    for i in range(rounds):
        choose_call(floor.freed[i % FREED], calls, NOW + i % 120, ops)


def plain(floor: Floor, rounds: int) -> None:
    """The simple functional API over 1,000 views, no index: what small pictures and tests use."""
    for i in range(rounds):
        choose_operator(floor.arriving[i % ARRIVING], floor.operators, NOW + i % 120)


if __name__ == "__main__":
    main()
