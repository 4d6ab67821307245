"""Pure parts of the campaign manager's console: the campaign file written back as TOML, the rejection report's
columns, spreadsheet-safe cells, recordings named only inside their folder, and the dialer board's figures."""

from __future__ import annotations

import tomllib
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from dialer.campaigns.model import Result
from dialer.campaigns.settings import as_json, parse_campaign
from dialer.leads.model import Reason, Rejection
from dialer.pacing_governor import AbandonWindow
from switchboard.outbound_board import CampaignBoard
from switchboard.web.campaign_toml import STARTER, campaign_toml, read_campaign_text
from switchboard.web.exports import recording_inside, safe_row
from switchboard.web.uploads import rejection_row

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "campaign.toml"


def test_the_example_campaign_survives_the_round_trip_through_its_toml() -> None:
    """The editor shows what `campaign create` would read back as the same settings."""
    for text in (EXAMPLE.read_text(encoding="utf-8"), STARTER):
        settings, _ = read_campaign_text(text)
        assert parse_campaign(tomllib.loads(campaign_toml(as_json(settings)))) == settings


@given(st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=200))
def test_any_script_survives_the_round_trip(script: str) -> None:
    """Quotes, backslashes, control characters and ''' in a script are written so TOML reads them back as they were."""
    data = {"name": "Весна", "script": script}
    assert tomllib.loads(campaign_toml(data)) == data


def test_a_rejection_names_its_line_field_and_value() -> None:
    assert rejection_row(Rejection(7, Reason.INVALID_NUMBER, "'Телефон' = '12ab'")) == [
        7, "Телефон", "12ab", "invalid number: 'Телефон' = '12ab'",
    ]  # fmt: skip
    assert rejection_row(Rejection(9, Reason.TOO_LONG, "'ФИО' has 300 characters (at most 200)"))[1:3] == ["ФИО", None]
    assert rejection_row(Rejection(3, Reason.NO_PHONE)) == [3, None, None, "no phone"]
    assert rejection_row(Rejection(4, Reason.BAD_ROW, "5 fields where the header has 4"))[1] is None


def test_cells_that_a_spreadsheet_would_run_are_neutralised() -> None:
    cells = safe_row(["=1+2", "+7912", "-3", "@SUM(A1)", "\tx", "\rx", "Иванов", 42, None, {"a": "=b"}])
    assert cells == ["'=1+2", "'+7912", "'-3", "'@SUM(A1)", "'\tx", "'\rx", "Иванов", 42, None, '{"a": "=b"}']


def test_a_recording_is_named_only_inside_the_recordings_folder(tmp_path: Path) -> None:
    folder = tmp_path / "recordings"
    assert recording_inside(str(folder / "2026" / "a.wav"), folder) == "2026/a.wav"
    assert recording_inside("2026/b.wav", folder) == "2026/b.wav"
    for outside in ("/etc/passwd", str(folder / ".." / "secret.wav"), "../../x.wav", str(folder), None, ""):
        assert recording_inside(outside, folder) is None


def test_the_board_counts_dial_level_answer_rate_and_reads_the_pacings_abandon_window() -> None:
    """Dial level: calls a minute per free operator; answer rate: people per ended attempt over 15 minutes; the
    abandon rate: the pacing's window as it stands."""
    board = CampaignBoard()
    for second in range(60):
        board.sampled(4, 1000.0 + second)
    for at in (1050.0, 1051.0, 1052.0, 1053.0, 1054.0, 1055.0):
        board.launched(at)
    board.attempt_ended(Result.ABANDONED, 1040.0)
    board.attempt_ended(Result.ANSWERED, 1058.0)
    board.attempt_ended(Result.NO_ANSWER, 1058.0)
    board.attempt_ended(Result.BUSY, 1059.0)
    assert board.figures(2, AbandonWindow(86400.0), 1059.0)["abandon_rate"] is None  # nobody answered yet
    window = AbandonWindow(86400.0).added(900.0, 1.0, 1.0).added(1040.0, 1.0, 1.0).added(1045.0, 0.0, 2.0)
    figures = board.figures(2, window, 1059.0)
    assert figures["dial_level"] == 1.5 and figures["launched_last_minute"] == 6
    assert figures["answer_rate"] == 0.5 and figures["ended_last_15_min"] == 4
    assert (figures["abandoned_in_window"], figures["answered_in_window"]) == (2.0, 4.0)
    assert figures["abandon_rate"] == 0.5 and figures["operators_idle"] == 4 and figures["calls_ringing"] == 2
    board.sampled(3, 1200.0)
    later = board.figures(0, window, 1200.0)  # two minutes on: nothing launched within the minute
    assert later["dial_level"] == 0.0 and later["launched_last_minute"] == 0
