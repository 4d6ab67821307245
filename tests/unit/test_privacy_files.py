"""Log files with a person's number masked in place: only the number's bytes change, whatever else the file holds."""

from __future__ import annotations

import bz2
import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from switchboard.errors import PrivacyError
from switchboard.privacy.files import Places, lines_with, mask_file, mask_in_place
from switchboard.privacy.numbers import person_number

NUMBER = person_number("+79123456789")
SHAPES = st.sampled_from(NUMBER.shapes)
# Any bytes but a line break; a line the person is not in must not hold their number by chance.
OTHER_LINE = st.binary(max_size=60).map(lambda b: b.replace(b"\n", b" ")).filter(lambda b: b"9123456789" not in b)
SEPARATOR = st.sampled_from([b"|", b" ", b"<", b">", b'"', b",", b":", b"@", b"\xff", b"+"])


@st.composite
def line_with_number(draw: st.DrawFn) -> bytes:
    left, right = draw(OTHER_LINE), draw(OTHER_LINE)
    return left + draw(SEPARATOR) + draw(SHAPES).encode() + draw(SEPARATOR) + right


@given(st.lists(st.tuples(st.booleans(), st.data()), max_size=12), st.booleans())
def test_only_lines_holding_the_number_change_and_every_other_byte_stays(
    plan: list[tuple[bool, st.DataObject]], final_newline: bool
) -> None:
    lines = [data.draw(line_with_number() if holds else OTHER_LINE) for holds, data in plan]
    content = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "queue_log"
        path.write_bytes(content)
        inode = path.stat().st_ino
        masked = mask_in_place(path, NUMBER)
        after = path.read_bytes()
        assert path.stat().st_ino == inode
    assert len(after) == len(content)
    assert b"9123456789" not in after
    assert masked >= sum(holds for holds, _ in plan)
    for (holds, _), old, new in zip(plan, lines, after.split(b"\n"), strict=False):
        if holds:
            assert new != old
            assert all(chr(a).isdigit() and b == ord("*") for a, b in zip(old, new, strict=True) if a != b)
        else:
            assert new == old


def test_a_line_appended_after_the_scan_is_kept(tmp_path: Path) -> None:
    """The file keeps its inode: Asterisk's open descriptor keeps appending to the same file."""
    path = tmp_path / "messages"
    path.write_bytes(b"a 79123456789 b\n")
    with path.open("ab") as asterisk:
        assert mask_in_place(path, NUMBER) == 1
        asterisk.write(b"later line\n")
    assert path.read_bytes() == b"a *********** b\nlater line\n"
    assert mask_in_place(path, NUMBER) == 0


@pytest.mark.parametrize(("suffix", "codec"), [(".gz", gzip), (".bz2", bz2)])
def test_compressed_rotations_are_rewritten_whole(tmp_path: Path, suffix: str, codec: object) -> None:
    path = tmp_path / f"messages.1{suffix}"
    path.write_bytes(codec.compress(b"x +79123456789 y\nz\n"))  # type: ignore[attr-defined]
    assert [line.text for line in lines_with(path, NUMBER)] == ["x +79123456789 y"]
    assert mask_file(path, NUMBER) == 1
    assert codec.decompress(path.read_bytes()) == b"x +*********** y\nz\n"  # type: ignore[attr-defined]
    assert mask_file(path, NUMBER) == 0
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_file_that_cannot_be_written_is_a_privacy_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(PrivacyError, match=r"broken\.gz"):
        mask_file(path, NUMBER)


def test_places_lists_queue_log_rotations_and_asterisk_logs(tmp_path: Path) -> None:
    logs = tmp_path / "ast" / "log"
    (logs / "cdr-csv").mkdir(parents=True)
    for path in (tmp_path / "queue_log", tmp_path / "queue_log.1", logs / "messages", logs / "cdr-csv" / "Master.csv"):
        path.write_text("x\n")
    (logs / "old.zst").write_bytes(b"?")
    (tmp_path / "other").write_text("x\n")
    places = Places(tmp_path / "rec", tmp_path / "queue_log", logs)
    assert [p.relative_to(tmp_path).as_posix() for p in places.log_files()] == [
        "ast/log/cdr-csv/Master.csv", "ast/log/messages", "queue_log", "queue_log.1",
    ]  # fmt: skip
    assert places.unchecked() == [f"{logs / 'old.zst'}: a compressed file that cannot be read here"]
    assert Places(tmp_path / "rec", tmp_path / "queue_log", None).unchecked() != []


def test_only_files_under_the_recordings_folder_count_as_recordings(tmp_path: Path) -> None:
    recordings = tmp_path / "rec"
    (recordings / "voicemail").mkdir(parents=True)
    (recordings / "voicemail" / "in-79123456789.wav").write_bytes(b"")
    (recordings / "other.wav").write_bytes(b"")
    places = Places(recordings, tmp_path / "queue_log", None)
    assert places.is_recording(recordings / "voicemail" / "x.wav")
    assert not places.is_recording(recordings / ".." / "x.wav")
    assert not places.is_recording(Path("/etc/passwd"))
    assert places.recordings_named(NUMBER) == [recordings / "voicemail" / "in-79123456789.wav"]
