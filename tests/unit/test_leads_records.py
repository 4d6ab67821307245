"""Reading delimited lead files: records with the line they start on, broken quoting, and the bulk reader's equality."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.leads.batch import records_frame
from dialer.leads.fast_csv import read_block
from dialer.leads.model import Reason, Rejection
from dialer.leads.records import MAX_RECORD_LINES, cell_text, delimited_records


def read(text: str, delimiter: str = ",") -> list[object]:
    return list(delimited_records(io.StringIO(text, newline=""), delimiter))


def test_each_record_carries_the_line_it_starts_on() -> None:
    """A quoted value with line breaks spans lines; the next record's line counts them; blank lines are skipped."""
    text = 'phone,address\n89123456789,"Москва,\nул. Ленина"\n\n+79123456780,x\r\n'
    assert read(text) == [
        (1, ["phone", "address"]),
        (2, ["89123456789", "Москва,\nул. Ленина"]),
        (5, ["+79123456780", "x"]),
    ]


def test_text_after_a_closing_quote_rejects_that_line_only() -> None:
    """'"x"y' is broken quoting on its line; reading goes on at the next line."""
    items = read('a,b\n"x"y,2\nc,d\n')
    assert items[1] == Rejection(2, Reason.BROKEN_QUOTING, "text follows a closing quote")
    assert items[2] == (3, ["c", "d"])


def test_a_quote_never_closed_does_not_swallow_the_rest_of_the_file() -> None:
    """The open quote's line is rejected; every later line is read again as records."""
    items = read('a,b\n"x,2\nc,d\ne,f\n')
    assert items == [(1, ["a", "b"]), Rejection(2, Reason.BROKEN_QUOTING, "a quote is never closed"), (3, ["c", "d"]),
                     (4, ["e", "f"])]  # fmt: skip


def test_a_quoted_value_over_many_lines_is_a_quote_left_open() -> None:
    """A value spanning more than MAX_RECORD_LINES lines is rejected where it starts and the lines are read again."""
    lines = "\n".join(f"{i},row" for i in range(3, MAX_RECORD_LINES + 10))
    items = read(f'a,b\n"open,2\n{lines}\nend",x\n')
    assert items[1] == Rejection(2, Reason.BROKEN_QUOTING, f"a quoted value runs over {MAX_RECORD_LINES + 9} lines")
    assert items[2] == (3, ["3", "row"])


def test_records_may_start_at_a_given_line() -> None:
    assert read_from("x,y\n", 41) == [(41, ["x", "y"])]


def read_from(text: str, first_line: int) -> list[object]:
    return list(delimited_records(io.StringIO(text, newline=""), ",", first_line=first_line))


def test_spreadsheet_cells_read_as_a_person_sees_them() -> None:
    """Numbers stored as numbers lose '.0'; dates read as ISO; empty cells are empty text."""
    import datetime as dt

    assert cell_text(79123456789.0) == "79123456789"
    assert cell_text(79123456789) == "79123456789"
    assert cell_text(1.5) == "1.5"
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(dt.datetime(2024, 3, 1)) == "2024-03-01"
    assert cell_text(dt.datetime(2024, 3, 1, 10, 15)) == "2024-03-01T10:15:00"


# -- the bulk reader reads every simple block as the csv module does ------------------------------------------------

pieces = st.sampled_from(["a", "b", "1", " ", ",", ";", '"', "\n", "\r\n", "я", "\t"])  # bare CR: declined below
cells = st.lists(pieces, max_size=6).map("".join)


@settings(max_examples=200, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=1, max_size=4), min_size=1, max_size=12), quoting=st.booleans())
def test_bulk_reader_matches_the_csv_module_or_declines(rows: list[list[str]], quoting: bool) -> None:
    """Given a file written by csv.writer (or hand-joined, so sometimes broken), read_block gives the same rows
    and lines as delimited_records, or None; it never gives different ones."""
    if quoting:
        out = io.StringIO(newline="")
        csv.writer(out, lineterminator="\n").writerows(rows)
        text = out.getvalue()
    else:
        text = "".join(",".join(row) + "\n" for row in rows)
    width = max(len(r) for r in rows)
    block = read_block(text.encode(), ",", width, 1, final=True)
    if block is None:
        return
    expected = [item for item in read(text) if not isinstance(item, Rejection)]
    assert len(expected) == len(read(text)), "a simple block has no broken records"
    frame, too_wide = records_frame(expected, width)  # type: ignore[arg-type]
    assert not too_wide
    bulk = [(line, [c or "" for c in rest]) for line, *rest in block.frame.iter_rows()]
    slow = [(line, [c or "" for c in rest]) for line, *rest in frame.iter_rows()]
    # polars gives a row of nulls for a blank line, which the csv module skips: blank rows are dropped later.
    assert [r for r in bulk if any(r[1])] == [r for r in slow if any(r[1])]


def test_bulk_reader_stops_at_the_last_record_end() -> None:
    """Not at the end of the file, a block ends after its last complete record; the rest is read with the next."""
    data = b'a,b\n1,"x\ny"\n2,z'
    block = read_block(data, ",", 2, 1, final=False)
    assert block is not None
    assert block.consumed == len(b'a,b\n1,"x\ny"\n')
    assert block.frame.get_column("line").to_list() == [1, 2]
    assert block.lines == 3


def test_bulk_reader_declines_what_the_csv_module_would_reject_or_read_otherwise() -> None:
    for data in (b'a,"b"c\n', b'a,b"c\n', b"a,b\rc,d\n", b"a,\x00b\n", b'a,"b\n'):
        assert read_block(data, ",", 2, 1, final=True) is None, data
