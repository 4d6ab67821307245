"""The AMI recorder's file: events back in order, repeated keys kept, a torn last line dropped.

The recorder process itself runs against Asterisk in benchmarks/acd_latency.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from switchboard.lab.ami_recorder import read_records


def test_records_come_back_in_order_with_repeated_keys_and_a_torn_line_dropped(tmp_path: Path) -> None:
    path = tmp_path / "ami-events.jsonl"
    first = [["Event", "Newexten"], ["Uniqueid", "1.1"], ["Application", "AGI"]]
    second = [["Event", "VarSet"], ["ChanVariable", "A=1"], ["ChanVariable", "B=2"]]
    lines = [json.dumps([10.5, first]), json.dumps([10.75, second]), '[11.0, [["Event", "Dial']
    path.write_text("\n".join(lines), encoding="utf-8")
    records = read_records(path)
    assert [at for at, _ in records] == [10.5, 10.75]
    assert records[0][1]["application"] == "AGI"
    assert records[1][1].get_all("ChanVariable") == ("A=1", "B=2")


def test_no_file_is_no_records(tmp_path: Path) -> None:
    assert read_records(tmp_path / "never-written.jsonl") == []
