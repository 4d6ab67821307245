"""The pure parts of the SIPp lab: caller ID encoding, the injection file, SIPp's stats CSV.

No SIPp runs here; tests/integration/test_lab_phones.py runs it against Asterisk.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.errors import LabError
from switchboard.lab.sipp import (
    EXIT_SOME_FAILED,
    _result,
    greeting_ulaw,
    injection_file,
    read_stats,
    sip_display_name,
    sip_user,
)

HOSTILE = ['"', ";", "&", "|", "`", "$(", "${SHELL(id)}", " ", "%", "#", "\\"]


@given(st.text())
def test_sip_user_round_trips_and_leaves_no_separator(text: str) -> None:
    """Any caller number survives percent-encoding and cannot break the URI or the CSV."""
    encoded = sip_user(text)
    assert unquote(encoded) == text
    assert not set(encoded) & set(';"@:<> \r\n`|${}')


@given(st.text(alphabet=st.characters(blacklist_characters=";\r\n")))
def test_display_name_escapes_quotes_and_backslashes(text: str) -> None:
    """A display name stays one quoted-string: every quote and backslash is escaped."""
    escaped = sip_display_name(text)
    unescaped = escaped.replace('\\"', '"').replace("\\\\", "\\")
    assert unescaped == text
    assert '"' not in escaped.replace('\\"', "")


def test_injection_file_carries_hostile_caller_ids(tmp_path: Path) -> None:
    """Each row is one call with four ';' fields, whatever the caller ID holds."""
    path = tmp_path / "calls.csv"
    rows = [{"number": "1001", "caller_number": "".join(HOSTILE), "caller_name": 'Evil " | `x`'}]
    injection_file(path, [*rows, {}], number="2000")
    lines = path.read_text().splitlines()
    assert lines[0] == "SEQUENTIAL"
    fields = lines[1].split(";")
    assert fields[:2] == ["r1", "1001"]
    assert unquote(fields[2]) == "".join(HOSTILE)
    assert fields[3] == 'Evil \\" | `x`'
    assert lines[2].split(";")[1] == "2000"


@pytest.mark.parametrize("name", ["a;b", "line\nbreak"])
def test_injection_file_refuses_what_sipp_cannot_carry(tmp_path: Path, name: str) -> None:
    """SIPp has no escape for ';' or a line break: such a display name is refused."""
    with pytest.raises(LabError):
        injection_file(tmp_path / "calls.csv", [{"caller_name": name}], number="1")


def test_injection_file_carries_the_menu_key_as_field4(tmp_path: Path) -> None:
    """A row's "digits" is field4 (caller_menu.xml presses it); without one field4 is empty (caller.xml ignores it)."""
    path = tmp_path / "calls.csv"
    rows = [{"number": "111", "digits": "2"}, {"number": "111", "digits": "#"}, {"number": "100"}]
    injection_file(path, rows, number=None)
    lines = path.read_text().splitlines()[1:]
    assert [line.split(";")[4] for line in lines] == ["2", "#", ""]
    assert all(len(line.split(";")) == 6 for line in lines)  # five fields and the closing ';'


@pytest.mark.parametrize("digits", ["12", ";", "1;2", "1\n", "x", "Signal=1", "%31", " 1"])
def test_injection_file_refuses_anything_but_one_dtmf_key(tmp_path: Path, digits: str) -> None:
    """field4 becomes a SIP INFO body line: only one of the sixteen DTMF keys (or nothing) may go there."""
    with pytest.raises(LabError):
        injection_file(tmp_path / "calls.csv", [{"digits": digits}], number="1")


@given(st.text(max_size=3))
def test_any_digits_value_is_refused_or_stays_one_csv_field(digits: str) -> None:
    """Whatever a test passes as digits, the CSV line keeps its five fields or the row is refused."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "calls.csv"
        try:
            injection_file(path, [{"digits": digits}], number="1")
        except LabError:
            return
        [line] = path.read_text().splitlines()[1:]
    assert line.split(";")[4] == digits and len(line.split(";")) == 6


def test_injection_file_needs_a_number(tmp_path: Path) -> None:
    with pytest.raises(LabError):
        injection_file(tmp_path / "calls.csv", [{}], number=None)


def test_stats_and_exit_code_give_the_counts(tmp_path: Path) -> None:
    """The last -trace_stat row has the cumulative counts; a fatal exit is a LabError."""
    header = "StartTime;SuccessfulCall(P);SuccessfulCall(C);FailedCall(P);FailedCall(C);"
    (tmp_path / "stats.csv").write_text(f"{header}\nx;1;1;0;0;\nx;2;3;1;1;\n")
    assert read_stats(tmp_path / "stats.csv")["SuccessfulCall(C)"] == "3"
    result = _result(EXIT_SOME_FAILED, tmp_path)
    assert (result.successful, result.failed, result.all_successful) == (3, 1, False)
    with pytest.raises(LabError):
        _result(255, tmp_path)


def test_greeting_is_pcmu_speech_with_gaps() -> None:
    """The machine's greeting: 8 kHz mu-law bytes, loud syllables and silent gaps."""
    audio = greeting_ulaw(1.0)
    assert len(audio) == 8000
    assert audio.count(0xFF) > 500  # mu-law silence
    assert min(audio) < 0x40  # and loud samples
