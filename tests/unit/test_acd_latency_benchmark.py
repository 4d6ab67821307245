"""The pure parts of benchmarks/acd_latency.py: pairing AMI events into latencies, percentiles, the app_queue config.

Hand-made event sequences only; the benchmark itself is never run (or timed) by the tests.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

from hypothesis import given
from hypothesis import strategies as st

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "acd_latency.py"
CALLER, OTHER_CALLER = "1795745570.12", "1795745570.13"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("acd_latency_benchmark", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


bench = _load()


def _event(at: float, name: str, uniqueid: str = CALLER, timestamp: str | None = None, **fields: str) -> tuple:
    """(listener time, event); the Timestamp header defaults to 1795745570 s + `at`, as Asterisk would write it."""
    stamp = timestamp if timestamp is not None else f"{1795745570 + at:.6f}"
    event: Mapping[str, str] = {"Event": name, "Uniqueid": uniqueid, "Timestamp": stamp, **fields}
    return (1000.0 + at, event)


def _agi(at: float, uniqueid: str = CALLER, script: str = "route") -> tuple:
    return _event(at, "Newexten", uniqueid, Application="AGI", AppData=f"agi://127.0.0.1:4573/{script},+18005550100,")


def _dial(at: float, uniqueid: str = CALLER, operator: str = "op3001") -> tuple:
    return _event(at, "DialBegin", uniqueid, DestChannel=f"PJSIP/{operator}-0000002a")


def test_a_route_agi_pairs_with_the_callers_dial_timed_by_asterisks_timestamps() -> None:
    """The latency is the difference of the two Timestamp headers, to the microsecond, not the arrival times."""
    records = [
        _agi(0.100000),
        _event(0.1005, "Newexten", Application="GotoIf", AppData="0?retry"),
        _event(0.1010, "Newexten", Application="Dial", AppData="PJSIP/op3001,20"),
        (1000.5, _dial(0.102345)[1]),  # read late by the listener: Asterisk's clock still says 2.345 ms
    ]
    [latency] = bench.pair_latencies(records, bench.is_route_agi).latencies
    assert latency.asterisk_ms == 2.345
    assert latency.operator == "PJSIP/op3001"
    assert latency.listener_ms > 300
    assert not latency.held


def test_other_channels_other_scripts_and_other_apps_are_not_starts() -> None:
    """An operator's feature-code AGI, another caller's Dial and a Queue() start do not pair with our route."""
    records = [
        _agi(0.0, uniqueid="op-channel", script="operator"),
        _dial(0.001, uniqueid="op-channel"),
        _event(0.002, "Newexten", OTHER_CALLER, Application="Queue", AppData="latency-benchmark"),
        _dial(0.003, uniqueid=OTHER_CALLER),
        _dial(0.004),  # a Dial with no route AGI before it
    ]
    pairing = bench.pair_latencies(records, bench.is_route_agi)
    assert pairing.latencies == []
    assert pairing.unpaired == 0


def test_interleaved_callers_each_pair_with_their_own_dial() -> None:
    """Two calls routed at once: each start meets its own channel's DialBegin."""
    records = [_agi(0.0), _agi(0.001, OTHER_CALLER), _dial(0.004, OTHER_CALLER, "op3002"), _dial(0.005)]
    latencies = bench.pair_latencies(records, bench.is_route_agi).latencies
    assert {(x.uniqueid, x.asterisk_ms, x.operator) for x in latencies} == {
        (CALLER, 5.0, "PJSIP/op3001"),
        (OTHER_CALLER, 3.0, "PJSIP/op3002"),
    }


def test_a_reroute_is_a_new_sample_and_a_redial_without_one_is_not() -> None:
    """After a ring-no-answer our dialplan runs route again (a second sample); app_queue rings the next member
    without a new start, which is not a routing and is skipped."""
    ours = [_agi(0.0), _dial(0.002), _agi(20.0), _dial(20.003, operator="op3002")]
    assert [x.asterisk_ms for x in bench.pair_latencies(ours, bench.is_route_agi).latencies] == [2.0, 3.0]
    queue = [
        _event(0.0, "Newexten", Application="Queue", AppData="latency-benchmark,r"),
        _dial(0.001),
        _dial(15.001, operator="op3002"),
    ]
    [latency] = bench.pair_latencies(queue, bench.is_queue_app("latency-benchmark")).latencies
    assert latency.asterisk_ms == 1.0


def test_starts_that_reach_no_dial_are_counted_unpaired() -> None:
    """A caller who hangs up before any Dial, a start replaced by another, and one still open at the end."""
    records = [
        _agi(0.0),
        _event(0.5, "Hangup"),
        _agi(1.0, OTHER_CALLER),
        _agi(2.0, OTHER_CALLER),
        _dial(2.001, OTHER_CALLER),
        _agi(3.0, "late"),
    ]
    pairing = bench.pair_latencies(records, bench.is_route_agi)
    assert [(x.uniqueid, x.asterisk_ms) for x in pairing.latencies] == [(OTHER_CALLER, 1.0)]
    assert pairing.unpaired == 3


def test_music_on_hold_between_start_and_dial_marks_the_call_held() -> None:
    """Our route script starts music only when nobody is free: such a call waited, it was not just routed."""
    records = [_agi(0.0), _event(0.003, "MusicOnHoldStart", Class="default"), _dial(4.0)]
    [latency] = bench.pair_latencies(records, bench.is_route_agi).latencies
    assert latency.held


def test_queue_start_matches_its_queue_name_only() -> None:
    starts = bench.is_queue_app("latency-benchmark")
    assert starts({"Event": "Newexten", "Application": "Queue", "AppData": "latency-benchmark"})
    assert starts({"Event": "Newexten", "Application": "Queue", "AppData": "latency-benchmark,r,,,30"})
    assert not starts({"Event": "Newexten", "Application": "Queue", "AppData": "latency-benchmark-2"})
    assert not starts({"Event": "Newexten", "Application": "Dial", "AppData": "latency-benchmark"})


def test_timestamps_parse_exactly_and_a_missing_one_leaves_only_the_listener_clock() -> None:
    assert bench.timestamp_us({"Timestamp": "1795745570.000001"}) == 1_795_745_570_000_001
    assert bench.timestamp_us({"Timestamp": "1795745570.5"}) == 1_795_745_570_500_000
    assert bench.timestamp_us({"Timestamp": "1795745570"}) == 1_795_745_570_000_000
    assert bench.timestamp_us({"Timestamp": "soon"}) is None
    assert bench.timestamp_us({}) is None
    records = [_agi(0.0), _event(0.002, "DialBegin", timestamp="", DestChannel="PJSIP/op3001-1")]
    figures = bench.summary(bench.pair_latencies(records, bench.is_route_agi))
    assert figures["calls"] == 1
    assert figures["without_timestamp"] == 1
    assert figures["p50_ms"] is None
    assert figures["listener_clock"]["p50_ms"] == 2.0


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(100, 0, -1)]
    assert bench.percentile(values, 0.50) == 50.0
    assert bench.percentile(values, 0.99) == 99.0
    assert bench.percentile(values, 1.0) == 100.0
    assert bench.percentile([7.0], 0.99) == 7.0
    assert bench.percentile([], 0.5) is None


@given(st.lists(st.floats(0, 1e4, allow_nan=False), min_size=1), st.floats(0.01, 1.0))
def test_percentile_is_a_value_with_at_least_that_share_at_or_below_it(values: list[float], fraction: float) -> None:
    found = bench.percentile(values, fraction)
    assert found in values
    assert sum(v <= found for v in values) >= fraction * len(values)
    assert sum(v < found for v in values) < fraction * len(values)


@given(st.integers(1, 2000), st.integers(1, 50))
def test_batches_split_the_calls_evenly_over_the_rounds(calls: int, rounds: int) -> None:
    parts = bench.batches(calls, rounds)
    assert sum(parts) == calls
    assert len(parts) == min(calls, rounds)
    assert max(parts) - min(parts) <= 1


def test_app_queue_takes_the_same_operators_least_recent_first_and_never_rings_a_busy_one() -> None:
    text = bench.app_queue_config("latency-benchmark", ["op3001", "op3002"], 20)
    lines = [line.strip() for line in text.splitlines()]
    assert "[latency-benchmark]" in lines
    assert {"strategy = leastrecent", "ringinuse = no", "wrapuptime = 0", "timeout = 20"} <= set(lines)
    assert [line for line in lines if line.startswith("member")] == [
        "member => PJSIP/op3001",
        "member => PJSIP/op3002",
    ]


def test_app_queue_extension_answers_before_queue_as_our_hotline_answers_before_its_agi() -> None:
    text = bench.app_queue_dialplan("18005550900", "latency-benchmark", "r")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(";")]
    assert lines == [
        "[switchboard-inbound]",
        "exten => 18005550900,1,Answer()",
        "same => n,Queue(latency-benchmark,r)",
        "same => n,Hangup()",
    ]
