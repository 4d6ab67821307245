"""The dialplan editor's shell and API over a fake Asterisk: versions, audit lines, the file Asterisk reads, the
previous file put back when Asterisk does not take the new one, and the role gate. (The real Asterisk:
tests/integration/test_dialplan_admin.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from asterisk_conf.render import render_asterisk
from switchboard import dialplan_admin
from switchboard.config import Site
from switchboard.dialplan_admin import (
    ADMIN_FILE,
    KIND,
    DialplanApplyError,
    DialplanRefusedError,
    expected_extensions,
    rollback,
    save_and_apply,
)
from switchboard.errors import AmiConnectionError, StoreError
from switchboard.store.calls import CallStore, make_engine
from switchboard.store.config_versions import ConfigVersionStore
from switchboard.web.routes.admin_dialplan import RELOADER_KEY
from tests.console_support import console_app, sign_in

GOOD = "[switchboard-admin]\nexten => s,1,NoOp(good)\n same => n,Hangup()\nexten => 100,1,Playback(hello-world)\n"
BETTER = "[switchboard-admin]\nexten => s,1,NoOp(better)\n same => n,Hangup()\n[sales]\nexten => s,1,Answer()\n"
DANGEROUS = "[switchboard-admin]\nexten => s,1,NoOp(x)\n same => n,System(rm -rf /)\n"


class FakeAsterisk:
    """What pbx_config holds after reading the admin file; `takes=False` ignores reloads, `up=False` refuses AMI."""

    def __init__(self, conf_dir: Path) -> None:
        self.conf_dir = conf_dir
        self.takes, self.up, self.reloads = True, True, 0
        self.held = expected_extensions((conf_dir / ADMIN_FILE).read_text(encoding="utf-8"))

    def __call__(self, _site: Site) -> FakeAsterisk:
        return self

    async def __aenter__(self) -> FakeAsterisk:
        if not self.up:
            raise AmiConnectionError("dialplan: connection refused")
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def reload(self) -> None:
        self.reloads += 1
        if self.takes:
            self.held = expected_extensions((self.conf_dir / ADMIN_FILE).read_text(encoding="utf-8"))

    async def extensions(self, context: str) -> set[tuple[str, str, str]] | None:
        return self.held.get(context)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture
def conf_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "asterisk"
    monkeypatch.setenv("SWITCHBOARD_ASTERISK_DIR", str(folder))
    monkeypatch.setattr(dialplan_admin, "VERIFY_S", 0.3)
    return folder


@pytest.fixture
def app(tmp_path: Path, conf_dir: Path) -> FastAPI:
    made = console_app(tmp_path / "console", clock=Clock())
    render_asterisk(made.state.ctx.site, conf_dir)
    return made


@pytest.fixture
def asterisk(app: FastAPI, conf_dir: Path) -> FakeAsterisk:
    fake = FakeAsterisk(conf_dir)
    app.state.ctx.extras[RELOADER_KEY] = fake
    return fake


@pytest.fixture
def admin(app: FastAPI, asterisk: FakeAsterisk) -> Iterator[TestClient]:
    with TestClient(app) as client:
        sign_in(client, app, "ada")
        yield client


def store_of(app: FastAPI) -> ConfigVersionStore:
    return ConfigVersionStore(app.state.ctx.engine)


async def test_an_apply_writes_the_file_reloads_and_marks_the_version(app: FastAPI, asterisk: FakeAsterisk) -> None:
    """The file found first becomes a version; the new one is written, reloaded, verified and marked applied."""
    site, store = app.state.ctx.site, store_of(app)
    version = await save_and_apply(site, store, GOOD, "ada", "first edit", clock=Clock(), reloader=asterisk)
    assert (asterisk.conf_dir / ADMIN_FILE).read_text() == GOOD
    assert asterisk.reloads == 1 and version.applied_at is not None
    assert store.current(KIND) == version
    history = store.history(KIND)
    assert [(v.author, v.note) for v in history] == [
        ("ada", "first edit"),
        ("switchboard", "as found in Asterisk's config folder"),
    ]
    actions = [(e.user, e.action) for e in store.audit_log("dialplan.")]
    assert actions == [
        ("ada", "dialplan.apply"),
        ("ada", "dialplan.save"),
        ("switchboard", "dialplan.apply"),
        ("switchboard", "dialplan.save"),
    ]


async def test_a_dangerous_dialplan_changes_nothing(app: FastAPI, asterisk: FakeAsterisk) -> None:
    """System() is refused with its line: no version, no file change, no reload; the refusal is audited."""
    before = (asterisk.conf_dir / ADMIN_FILE).read_text()
    with pytest.raises(DialplanRefusedError) as refused:
        await save_and_apply(app.state.ctx.site, store_of(app), DANGEROUS, "ada", "try", reloader=asterisk)
    assert [str(p) for p in refused.value.problems] == [
        "line 3: System() is refused: it runs a shell command on the server"
    ]
    assert (asterisk.conf_dir / ADMIN_FILE).read_text() == before and asterisk.reloads == 0
    assert store_of(app).history(KIND) == []
    [entry] = store_of(app).audit_log("dialplan.")
    assert entry.action == "dialplan.refused" and entry.detail and "line 3: System()" in entry.detail["problems"][0]


async def test_what_asterisk_does_not_take_is_undone(app: FastAPI, asterisk: FakeAsterisk) -> None:
    """Asterisk ignoring the reload: the previous file goes back, the version stays unapplied, the failure audited."""
    site, store = app.state.ctx.site, store_of(app)
    await save_and_apply(site, store, GOOD, "ada", "good", reloader=asterisk)
    asterisk.takes = False
    with pytest.raises(
        DialplanApplyError, match=r"differs: \[switchboard-admin\] lacks .*the previous dialplan is back"
    ):
        await save_and_apply(site, store, BETTER, "ada", "better", reloader=asterisk)
    assert (asterisk.conf_dir / ADMIN_FILE).read_text() == GOOD
    assert store.current(KIND) is not None and store.current(KIND).content == GOOD  # type: ignore[union-attr]
    assert store.history(KIND)[0].note == "better" and store.history(KIND)[0].applied_at is None
    assert store.audit_log("dialplan.")[0].action == "dialplan.apply_failed"


async def test_an_unreachable_asterisk_leaves_the_file_as_it_was(app: FastAPI, asterisk: FakeAsterisk) -> None:
    """No AMI: the error says so and that the previous file is back on disk (its reload failed too)."""
    before = (asterisk.conf_dir / ADMIN_FILE).read_text()
    asterisk.up = False
    with pytest.raises(DialplanApplyError, match=r"connection refused.*back on disk, but reloading it failed too"):
        await save_and_apply(app.state.ctx.site, store_of(app), GOOD, "ada", "x", reloader=asterisk)
    assert (asterisk.conf_dir / ADMIN_FILE).read_text() == before


async def test_rollback_applies_an_earlier_version_as_a_new_one(app: FastAPI, asterisk: FakeAsterisk) -> None:
    """Rolling back repeats the content in a new version with restored_from, audited as a rollback."""
    site, store = app.state.ctx.site, store_of(app)
    first = await save_and_apply(site, store, GOOD, "ada", "good", reloader=asterisk)
    await save_and_apply(site, store, BETTER, "ada", "better", reloader=asterisk)
    assert asterisk.held["sales"] == {("s", "1", "answer")}
    back = await rollback(site, store, first.id, "bob", reloader=asterisk)
    assert (back.restored_from, back.content, back.note) == (first.id, GOOD, f"rollback to version {first.id}")
    assert "sales" not in asterisk.held and store.current(KIND) == back
    assert [e.action for e in store.audit_log("dialplan.", 2)] == ["dialplan.apply", "dialplan.rollback"]
    with pytest.raises(StoreError, match="version 999: no such dialplan version"):
        await rollback(site, store, 999, "bob", reloader=asterisk)


async def test_a_file_changed_on_disk_is_adopted_before_the_next_apply(app: FastAPI, asterisk: FakeAsterisk) -> None:
    """A re-render or a hand edit since the last apply becomes a version, so it can be rolled back to."""
    site, store = app.state.ctx.site, store_of(app)
    await save_and_apply(site, store, GOOD, "ada", "good", reloader=asterisk)
    (asterisk.conf_dir / ADMIN_FILE).write_text(BETTER)
    assert dialplan_admin.show_rendered(site, store).drift
    await save_and_apply(site, store, GOOD, "ada", "good again", reloader=asterisk)
    notes = [v.note for v in store.history(KIND)]
    assert notes[:2] == ["good again", "as changed on disk since the last apply"]


def test_the_versions_store_refuses_bad_input(tmp_path: Path) -> None:
    """Unknown kinds, empty authors and long notes are refused with the value."""
    engine = make_engine(f"sqlite:///{tmp_path / 'v.db'}")
    CallStore(engine).create_schema()
    store = ConfigVersionStore(engine)
    with pytest.raises(StoreError, match="kind 'acd'"):
        store.save("acd", "x", "ada", None, 1.0)
    with pytest.raises(StoreError, match="author ''"):
        store.save(KIND, "x", "", None, 1.0)
    with pytest.raises(StoreError, match="note: 201 characters"):
        store.save(KIND, "x", "ada", "n" * 201, 1.0)
    assert store.current(KIND) is None


def test_the_expected_extensions_follow_templates_and_caller_id_matches() -> None:
    """What Asterisk should hold: inherited template lines, the bare extension of a caller id match, hints."""
    text = "[tpl](!)\nexten => t,1,NoOp()\n[a](tpl)\nexten => 5/_1X,1,Dial(x)\nexten => 6,hint,PJSIP/x\n"
    assert expected_extensions(text) == {"a": {("t", "1", "noop"), ("5", "1", "dial"), ("6", "hint", "")}}


# --- the API ---


def test_check_diff_and_apply_through_the_api(admin: TestClient, asterisk: FakeAsterisk) -> None:
    """Check lists problems by line; diff shows the change; apply answers the version and the history."""
    answer = admin.post("/api/admin/dialplan/check", json={"content": DANGEROUS}).json()
    assert answer["ok"] is False and answer["problems"][0]["line"] == 3
    assert admin.post("/api/admin/dialplan/check", json={"content": GOOD}).json() == {"ok": True, "problems": []}
    diff = admin.post("/api/admin/dialplan/diff", json={"content": GOOD}).json()["diff"]
    assert "+exten => 100,1,Playback(hello-world)" in diff
    applied = admin.post("/api/admin/dialplan/apply", json={"content": GOOD, "note": "hello"})
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert body["version"]["note"] == "hello" and body["current"] == body["version"]["id"]
    assert admin.get("/api/admin/dialplan").json()["admin"] == GOOD


def test_a_refused_apply_answers_422_with_the_lines(admin: TestClient, asterisk: FakeAsterisk) -> None:
    """The page gets the message and each problem's line; nothing reached Asterisk."""
    answer = admin.post("/api/admin/dialplan/apply", json={"content": DANGEROUS, "note": "x"})
    assert answer.status_code == 422
    assert "line 3: System() is refused" in answer.json()["detail"]
    assert answer.json()["problems"][0]["line"] == 3 and asterisk.reloads == 0


def test_rollback_and_versions_through_the_api(admin: TestClient, asterisk: FakeAsterisk) -> None:
    """Roll back to the first version; the history lists it running; an unknown version is a 404."""
    first = admin.post("/api/admin/dialplan/apply", json={"content": GOOD, "note": "one"}).json()["version"]["id"]
    admin.post("/api/admin/dialplan/apply", json={"content": BETTER, "note": "two"})
    back = admin.post(f"/api/admin/dialplan/versions/{first}/rollback", json={})
    assert back.status_code == 200, back.text
    listed = admin.get("/api/admin/dialplan/versions").json()
    newest = listed["versions"][0]
    assert newest["restored_from"] == first and newest["running"] and "content" not in newest
    assert admin.get(f"/api/admin/dialplan/versions/{first}").json()["content"] == GOOD
    assert admin.post("/api/admin/dialplan/versions/999/rollback").status_code == 404
    audit = admin.get("/api/admin/audit", params={"action": "dialplan."}).json()["entries"]
    assert {"dialplan.save", "dialplan.apply", "dialplan.rollback"} <= {e["action"] for e in audit}


def test_the_page_shows_the_admin_file_and_the_platforms_dialplan(admin: TestClient, asterisk: FakeAsterisk) -> None:
    """The editor page holds the admin's file in the textarea and the rendered platform dialplan read-only."""
    page = admin.get("/admin/dialplan")
    assert page.status_code == 200
    assert 'id="dialplan-editor"' in page.text and "[switchboard-admin]" in page.text
    assert "[switchboard-inbound]" in page.text


@pytest.mark.parametrize("name", ["olga", "sam", "carl"])
def test_only_admins_reach_the_editor(app: FastAPI, asterisk: FakeAsterisk, name: str) -> None:
    """Operators, supervisors and campaign managers get 403 on the page and every API call."""
    with TestClient(app) as client:
        sign_in(client, app, name)
        assert client.get("/api/admin/dialplan").status_code == 403
        assert client.post("/api/admin/dialplan/apply", json={"content": GOOD, "note": "x"}).status_code == 403
        assert client.get("/admin/dialplan", headers={"accept": "text/html"}).status_code == 403
    assert asterisk.reloads == 0
