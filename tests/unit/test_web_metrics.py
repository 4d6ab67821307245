"""The /metrics text: Prometheus exposition format 0.0.4 from the live figures, escaping and all."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from switchboard.web.metrics import Family, LiveFigures, exposition, families

NOW = 1_800_000_000.0


def _live(**overrides: object) -> LiveFigures:
    values: dict[str, object] = {
        "ami": {"connected": "1", "updated_at": str(NOW - 1)},
        "queues": {
            "general": {"waiting": "3", "longest_wait_s": "42.5", "service_level": "0.8", "abandon_rate": "0.05"},
            'odd "queue"\\\n': {"waiting": "0", "longest_wait_s": "0.0", "service_level": "1.0", "abandon_rate": "0"},
        },
        "operators": {"op1": "available", "op2": "on_call", "op3": "on_call", "op4": "ringing_elsewhere"},
        "dialers": {"spring": {"dial_level": 1.75, "abandon_rate": None}},
    }
    values.update(overrides)
    return LiveFigures(**values)  # type: ignore[arg-type]


def _samples(text: str) -> dict[str, str]:
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in text.splitlines() if not line.startswith("#")}


def test_every_family_has_help_and_type_before_its_samples() -> None:
    """Each metric name gets one HELP and one TYPE line, ahead of its samples, and the text ends in a line feed."""
    text = exposition(families(_live(), store_up=True, now=NOW))
    assert text.endswith("\n")
    seen: list[str] = []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            seen.append(line.split()[2])
        elif line.startswith("# TYPE "):
            assert line.split()[2:] == [seen[-1], "gauge"]
        else:
            assert line.split("{")[0].split(" ")[0] == seen[-1]
    assert len(seen) == len(set(seen))


def test_queue_operator_and_dialer_figures_are_shown() -> None:
    """Per-queue gauges, operators by state (zeros and unknown states too), dialer figures it has; AMI up."""
    samples = _samples(exposition(families(_live(), store_up=True, now=NOW)))
    assert samples['switchboard_calls_waiting{queue="general"}'] == "3"
    assert samples['switchboard_longest_wait_seconds{queue="general"}'] == "42.5"
    assert samples['switchboard_service_level{queue="general"}'] == "0.8"
    assert samples['switchboard_abandon_rate{queue="general"}'] == "0.05"
    assert samples['switchboard_operators{state="on_call"}'] == "2"
    assert samples['switchboard_operators{state="paused"}'] == "0"
    assert samples['switchboard_operators{state="ringing_elsewhere"}'] == "1"
    assert samples['switchboard_dial_level{campaign="spring"}'] == "1.75"
    assert not any(key.startswith("switchboard_dialer_abandon_rate{") for key in samples)  # no figure yet: no sample
    assert samples["switchboard_ami_connected"] == "1"
    assert samples["switchboard_redis_up"] == "1"


def test_label_values_escape_backslash_quote_and_line_feed() -> None:
    r"""A queue named `odd "queue"\<LF>` is written as odd \"queue\"\\\n inside the label."""
    text = exposition(families(_live(), store_up=True, now=NOW))
    assert 'switchboard_calls_waiting{queue="odd \\"queue\\"\\\\\\n"} 0' in text.splitlines()


def test_a_platform_that_stopped_writing_counts_as_ami_down() -> None:
    """An AMI state older than STALE_S is not trusted: switchboard_ami_connected 0."""
    stale = _live(ami={"connected": "1", "updated_at": str(NOW - 60)})
    assert _samples(exposition(families(stale, store_up=True, now=NOW)))["switchboard_ami_connected"] == "0"


def test_without_redis_only_the_up_gauges_are_shown() -> None:
    """Redis down: switchboard_redis_up 0 and the store's gauge, nothing invented."""
    samples = _samples(exposition(families(None, store_up=True, now=NOW)))
    assert samples == {"switchboard_redis_up": "0", "switchboard_store_up": "1"}


@given(st.text())
def test_any_label_value_reads_back_unchanged(value: str) -> None:
    """Unescaping what exposition wrote gives the value back: no label can break out of its quotes."""
    line = exposition([Family("m", "h", samples=[({"queue": value}, 1.0)])]).split("\n")[
        2
    ]  # the format splits on LF only
    inner = line[len('m{queue="') : -len('"} 1')]
    out, i = [], 0
    while i < len(inner):
        if inner[i] == "\\":
            out.append({"\\": "\\", '"': '"', "n": "\n"}[inner[i + 1]])
            i += 2
        else:
            assert inner[i] not in '"\n'
            out.append(inner[i])
            i += 1
    assert "".join(out) == value
