"""How many routing decisions a second the pure ACD engine makes on one core: prints one JSON line.

1,000 operators over 50 skills (3-8 each, 30% available) and 200 waiting calls needing 1-3 skills, with widening.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acd.index import OperatorIndex, WaitingIndex
from acd.model import CallView, OperatorView, Presence, Step
from acd.routing import assign, choose_call, choose_operator

SKILLS = [f"skill{n:02d}" for n in range(50)]
BUSY = (Presence.ON_CALL, Presence.WRAP_UP, Presence.PAUSED, Presence.OFFERED)
WIDENING = (Step(0, 4), Step(30, 2), Step(90, 1))  # the example: 0-30 s level 4, 30-90 s level 2, then anyone
NOW = 36_000.0


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


def per_second(count: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rng = random.Random(args.seed)
    operators = [make_operator(rng, n, rng.random() < 0.3) for n in range(1000)]
    waiting = [make_call(rng, n, NOW - rng.uniform(0, 180)) for n in range(200)]
    arriving = [make_call(rng, 10_000 + n, NOW) for n in range(997)]  # prime sizes so the pairs keep changing
    freed = [OperatorView(op.sip_user, Presence.AVAILABLE, op.skills, NOW) for op in rng.sample(operators, 991)]
    half = args.decisions // 2

    started = time.perf_counter()
    op_index = OperatorIndex.build(operators)
    build_ops_ms = (time.perf_counter() - started) * 1e3
    started = time.perf_counter()
    call_index = WaitingIndex.build(waiting)
    build_calls_ms = (time.perf_counter() - started) * 1e3

    served = [0, 0]

    def offers() -> None:
        for i in range(half):
            served[0] += choose_operator(arriving[i % 997], op_index, NOW + (i % 120)).operator is not None

    def pickups() -> None:
        for i in range(half):
            served[1] += choose_call(freed[i % 991], call_index, NOW + (i % 120)) is not None

    def mixed() -> None:
        for i in range(half):
            choose_operator(arriving[i % 997], op_index, NOW + (i % 120))
            choose_call(freed[i % 991], call_index, NOW + (i % 120))

    offer_rate, pickup_rate, mixed_rate = (
        per_second(half, offers),
        per_second(half, pickups),
        per_second(2 * half, mixed),
    )
    live_rate = per_second(2 * 20_000, lambda: live(op_index, call_index, arriving, freed, 20_000))
    plain_rate = per_second(2_000, lambda: [choose_operator(arriving[i % 997], operators, NOW) for i in range(2_000)])
    started = time.perf_counter()
    pairs = assign(call_index, op_index, NOW)
    assign_ms = (time.perf_counter() - started) * 1e3
    figures = {
        "decisions_per_s": round(mixed_rate),
        "mix": "50% choose_operator for an arriving call, 50% choose_call for a freed operator, indexes built once",
        "operators": len(operators),
        "available": bin(op_index.available).count("1"),
        "skills": len(SKILLS),
        "waiting_calls": len(waiting),
        "choose_operator_per_s": round(offer_rate),
        "choose_call_per_s": round(pickup_rate),
        "served_share": {"choose_operator": round(served[0] / half, 3), "choose_call": round(served[1] / half, 3)},
        "live_decisions_per_s": round(live_rate),
        "live": "same mix, each decision folded back into the indexes (operator offered, call removed / added)",
        "plain_views_choose_operator_per_s": round(plain_rate),
        "build_operator_index_ms": round(build_ops_ms, 2),
        "build_waiting_index_ms": round(build_calls_ms, 2),
        "assign_batch_ms": round(assign_ms, 2),
        "assign_pairs": len(pairs),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cores_used": 1,
    }
    print(json.dumps(figures))


def live(
    op_index: OperatorIndex,
    call_index: WaitingIndex,
    arriving: list[CallView],
    freed: list[OperatorView],
    rounds: int,
) -> None:
    """Decisions as the engine makes them: every answer changes the picture the next one sees."""
    for i in range(rounds):
        now = NOW + i * 0.05
        call = arriving[i % 997]
        decision = choose_operator(call, op_index, now)
        if decision.operator is None:
            call_index = call_index.added(call)
        else:
            offered = op_index.operators[op_index.positions[decision.operator]]
            op_index = op_index.updated(OperatorView(offered.sip_user, Presence.OFFERED, offered.skills, now))
        operator = freed[i % 991]
        taken = choose_call(operator, call_index, now)
        if taken is not None:
            call_index = call_index.removed(taken.call_id)
        else:
            op_index = op_index.updated(OperatorView(operator.sip_user, Presence.AVAILABLE, operator.skills, now))


if __name__ == "__main__":
    main()
