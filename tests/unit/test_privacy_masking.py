"""Numbers masked in log output: mask_text on free text, and the logging filter the CLI installs on every handler."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.privacy import MaskNumbersFilter, install_log_masking, mask_number, mask_text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call from +79123456789 to 5551", "call from +*********89 to 5551"),
        ("caller=89123456789;", "caller=*********89;"),
        ("sip:79123456789@trunk", "sip:*********89@trunk"),
        ("8 (912) 345-67-89 rang", "* (***) ***-**-89 rang"),
        ("+7 912 345-67-89.", "+* *** ***-**-89."),
        ("+1 800 555 0199", "+* *** *** **99"),
    ],
)
def test_numbers_in_text_are_masked_but_their_last_two_digits(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "uniqueid 1712345678.42 answered",  # an Asterisk uniqueid, not a number
        "at 2024-05-01 12:00:00 on port 5060",
        "lead 123456789 imported",  # nine digits: ids, counts
        "took 0.1234567891234 s",
        "call 550e8400-e29b-41d4-a716-446655440000",
    ],
)
def test_ids_times_and_short_runs_are_left_alone(text: str) -> None:
    assert mask_text(text) == text


@given(st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True), st.sampled_from([" ", "=", "<", ":", "'", "("]))
def test_any_e164_number_is_masked_wherever_it_stands(number: str, before: str) -> None:
    text = f"x{before}{number} y"
    assert mask_text(text) == f"x{before}{mask_number(number)} y"


@pytest.fixture
def logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger with one handler writing to a buffer, masked as the CLI masks the root logger's handlers."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("switchboard.tests.masking")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    install_log_masking(log)
    install_log_masking(log)  # twice: still one filter
    yield log, out
    log.removeHandler(handler)


def test_the_filter_masks_arguments_and_tracebacks(logger: tuple[logging.Logger, io.StringIO]) -> None:
    log, out = logger
    assert [type(f) for f in log.handlers[0].filters] == [MaskNumbersFilter]
    log.info("routed %s to %s", "+79123456789", "op1001")
    try:
        raise ValueError("bad caller 89123456789")
    except ValueError:
        log.exception("failed for %r", {"caller": "79123456789"})
    text = out.getvalue()
    assert "routed +*********89 to op1001" in text
    assert "failed for {'caller': '*********89'}" in text
    assert "ValueError: bad caller *********89" in text
    assert "9123456789" not in text


def test_records_reaching_a_child_loggers_parent_handler_are_masked(logger: tuple[logging.Logger, io.StringIO]) -> None:
    """Filters on handlers see records from every child logger, unlike a logger's own filters."""
    _log, out = logger
    logging.getLogger("switchboard.tests.masking.child").warning("caller %s", "+79123456789")
    assert out.getvalue() == "WARNING caller +*********89\n"
