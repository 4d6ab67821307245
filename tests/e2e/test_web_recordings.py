"""Recordings in the browser: played from the call record only, with Range, and never from outside the recordings
folder, whatever a tampered record says (`..`, an absolute path elsewhere, a symlink pointing out)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from switchboard.config import Site
from switchboard.store.calls import CallRecord, CallStore
from switchboard.store.schema import audit_log
from switchboard.web.routes.recordings import recording_file
from tests.console_support import signed_in
from tests.e2e.supervision_support import console, lab_site

pytestmark = pytest.mark.e2e

WAV = b"RIFF" + (1000).to_bytes(4, "little") + b"WAVEfmt " + bytes(range(256)) * 4


@pytest.fixture
def floor(tmp_path: Path) -> tuple[Site, FastAPI, Path]:
    """A site whose recordings folder holds good files, and a secret .wav outside it."""
    _, site = lab_site(tmp_path / "site", "redis://127.0.0.1:9/0")
    recordings = site.recordings_path
    (recordings / "2024").mkdir(parents=True)
    (recordings / "good.wav").write_bytes(WAV)
    (recordings / "2024" / "nested.wav").write_bytes(WAV[:600])
    (recordings / "notes.txt").write_text("not audio")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.wav").write_bytes(b"RIFF-secret")
    (recordings / "escape.wav").symlink_to(outside / "secret.wav")
    (recordings / "inside-link.wav").symlink_to(recordings / "good.wav")
    (recordings / "escape-dir").symlink_to(outside, target_is_directory=True)
    return site, console(site, time.time()), outside


def _record(app: FastAPI, call_id: str, recording: str | None, *, queue: str = "general", at: float = 1e9) -> None:
    record = CallRecord(call_id, f"u-{call_id}", "inbound", "+15550001", "100", queue, "op1001", at, at + 5, at + 60,
                        "answered", recording=recording)  # fmt: skip
    CallStore(app.state.ctx.engine).upsert([record])


def test_a_recording_plays_as_audio_with_range_support(floor: tuple[Site, FastAPI, Path]) -> None:
    """The absolute path the platform stores, a relative one, and a symlink inside the folder all play."""
    site, app, _ = floor
    _record(app, "abs", str(site.recordings_path / "good.wav"))
    _record(app, "rel", "2024/nested.wav")
    _record(app, "link", "inside-link.wav")
    client = signed_in(app, "supervisor", time.time())
    whole = client.get("/api/calls/abs/recording")
    assert whole.status_code == 200 and whole.content == WAV
    assert whole.headers["content-type"] == "audio/wav" and whole.headers["accept-ranges"] == "bytes"
    part = client.get("/api/calls/abs/recording", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == WAV[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(WAV)}"
    assert client.get("/api/calls/rel/recording").content == WAV[:600]
    assert client.get("/api/calls/link/recording").content == WAV


@pytest.mark.parametrize(
    ("stored", "why"),
    [
        ("../outside/secret.wav", "'..' out of the folder"),
        ("2024/../../outside/secret.wav", "'..' in the middle"),
        ("{outside}/secret.wav", "an absolute path elsewhere"),
        ("escape.wav", "a symlink in the folder pointing out"),
        ("escape-dir/secret.wav", "a symlinked folder pointing out"),
        ("{recordings}/../outside/secret.wav", "an absolute path that climbs out"),
        ("notes.txt", "a file that is not audio"),
        ("2024", "a folder"),
        ("missing.wav", "a file that does not exist"),
        ("good.wav\x00.txt", "a NUL byte"),
        ("", "no recording"),
    ],
)
def test_a_tampered_record_names_nothing_outside_the_folder(
    floor: tuple[Site, FastAPI, Path], stored: str, why: str
) -> None:
    """Each refusal is the same 404, with nothing of the file sent and no recording_url in the list."""
    site, app, outside = floor
    _record(app, "bad", stored.format(outside=outside, recordings=site.recordings_path))
    client = signed_in(app, "admin", time.time())
    answer = client.get("/api/calls/bad/recording")
    assert (answer.status_code, answer.json()) == (404, {"detail": "no recording for this call"}), why
    assert b"secret" not in answer.content
    [listed] = client.get("/api/calls").json()["calls"]
    assert listed["recording_url"] is None and "recording" not in listed


def test_recording_file_resolves_only_inside_the_folder(floor: tuple[Site, FastAPI, Path]) -> None:
    """The resolver itself: real paths inside the folder, None for the symlink that leaves it."""
    site, _, outside = floor
    assert recording_file(site, "inside-link.wav") == (site.recordings_path / "good.wav").resolve()
    assert recording_file(site, "escape.wav") is None
    assert recording_file(site, str(outside / "secret.wav")) is None
    assert recording_file(site, None) is None


def test_unknown_call_is_404_and_paths_are_not_call_ids(floor: tuple[Site, FastAPI, Path]) -> None:
    """No endpoint takes a path: a path-looking id finds no call record."""
    _, app, _ = floor
    client = signed_in(app, "supervisor", time.time())
    assert client.get("/api/calls/nope/recording").status_code == 404
    assert client.get("/api/calls/..%2Foutside%2Fsecret.wav/recording").status_code == 404


def test_calls_list_filters_by_period_queue_and_operator(floor: tuple[Site, FastAPI, Path]) -> None:
    """from/to (dates or epoch), queue and operator narrow the list, newest first, with a player URL per recording."""
    _, app, _ = floor
    _record(app, "early", "good.wav", at=1_700_000_000.0)
    _record(app, "late", None, queue="tax", at=1_700_100_000.0)
    client = signed_in(app, "campaign_manager", time.time())
    every = client.get("/api/calls").json()["calls"]
    assert [c["id"] for c in every] == ["late", "early"]
    assert every[1]["recording_url"] == "/api/calls/early/recording" and every[0]["recording_url"] is None
    assert [c["id"] for c in client.get("/api/calls?queue=tax").json()["calls"]] == ["late"]
    assert [c["id"] for c in client.get("/api/calls?from=1700050000").json()["calls"]] == ["late"]
    assert [c["id"] for c in client.get("/api/calls?to=1700050000&operator=op1001").json()["calls"]] == ["early"]
    assert client.get("/api/calls?operator=op1002").json()["calls"] == []
    refused = client.get("/api/calls?from=yesterday")
    assert refused.status_code == 422 and "from = 'yesterday'" in refused.json()["detail"]


def test_the_operator_role_may_not_list_or_play(floor: tuple[Site, FastAPI, Path]) -> None:
    """Operators get 403 on the list, the player and the calls page; no session is a 401."""
    _, app, _ = floor
    _record(app, "abs", "good.wav")
    client = signed_in(app, "operator", time.time(), "op1001")
    for url in ("/api/calls", "/api/calls/abs/recording", "/supervisor/calls"):
        assert client.get(url).status_code == 403, url
    client.cookies.clear()
    for url in ("/api/calls", "/api/calls/abs/recording"):
        assert client.get(url).status_code == 401, url


def test_the_calls_page_has_a_player_script_and_the_audit_log_notes_each_playing(
    floor: tuple[Site, FastAPI, Path],
) -> None:
    """The page loads supervisor.js (one <audio> per call); a play is audited, a seek within it is not."""
    _, app, _ = floor
    _record(app, "abs", "good.wav")
    client = signed_in(app, "supervisor", time.time())
    page = client.get("/supervisor/calls")
    assert page.status_code == 200 and "/static/supervisor.js" in page.text and 'id="calls-table"' in page.text
    client.get("/api/calls/abs/recording")
    client.get("/api/calls/abs/recording", headers={"Range": "bytes=500-"})
    with app.state.ctx.engine.connect() as conn:
        actions = conn.execute(sa.select(audit_log.c.action, audit_log.c.target)).all()
    assert [tuple(a) for a in actions] == [("recording.play", "abs")]
