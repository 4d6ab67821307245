"""The admin's set-up API end to end through the console app: edits saved as checked versions with audit rows,
refusals naming the field, apply (site file with .bak, Asterisk's configs, reloads), roll back, console users."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from asterisk_conf.render import render_asterisk
from switchboard.config import load_site
from switchboard.site_apply import SiteAdmin
from switchboard.web.routes.admin_site import EXTRAS_KEY
from tests.console_support import PASSWORD, console_app, sign_in

DANA = {"sip_user": "op2001", "name": "Dana Scully", "secret": "a-long-secret-2001", "skills": {"general": 4}}


class FakeAsterisk:
    """Records the modules it was asked to reload."""

    def __init__(self) -> None:
        self.reloads: list[list[str]] = []

    async def reload(self, modules: list[str]) -> tuple[list[str], list[str]]:
        self.reloads.append(modules)
        return modules, []


class FakePlatform:
    def __init__(self) -> None:
        self.told: list[int] = []

    async def reload_site(self, version: int, author: str) -> dict[str, Any]:
        self.told.append(version)
        return {"added": ["op2001"], "restart_needed": []}


@pytest.fixture
def app(tmp_path: Path) -> FastAPI:
    return console_app(tmp_path / "console", clock=lambda: 1_000.0)


@pytest.fixture
def admin(app: FastAPI) -> TestClient:
    client = TestClient(app)
    sign_in(client, app, "ada")
    return client


def _with_fakes(app: FastAPI, conf_dir: Path) -> tuple[FakeAsterisk, FakePlatform]:
    ctx = app.state.ctx
    render_asterisk(ctx.site, conf_dir)
    asterisk, platform = FakeAsterisk(), FakePlatform()
    ctx.extras[EXTRAS_KEY] = SiteAdmin(
        ctx.site, ctx.engine, clock=ctx.clock, reloader=asterisk, notifier=platform, conf_dir=conf_dir
    )
    return asterisk, platform


def test_an_admin_adds_an_operator_with_skills_and_a_version_and_audit_row_exist(admin: TestClient) -> None:
    """POST an operator: it is in GET site (pending), a version holds it, and the audit log says who added it."""
    admin.post("/api/admin/site/skills", json={"name": "tax"}).raise_for_status()
    answer = admin.post("/api/admin/site/operators", json=DANA | {"skills": {"general": 4, "tax": 2}})
    assert answer.status_code == 201, answer.text
    assert '+sip_user = "op2001"' in answer.json()["diff"]
    site = admin.get("/api/admin/site").json()
    dana = next(op for op in site["site"]["operators"] if op["sip_user"] == "op2001")
    assert dana["skills"] == {"general": 4, "tax": 2}
    assert "secret" not in dana
    assert site["pending"] is True
    versions = admin.get("/api/admin/site/versions").json()["versions"]
    assert versions[0]["id"] == site["latest_version"] and versions[0]["author"] == "ada"
    assert versions[0]["note"] == "operator op2001 added"
    assert versions[-1]["note"] == "the site file as found on disk" and versions[-1]["running"]
    saves = admin.get("/api/admin/audit", params={"action": "site.save", "user": "ada"}).json()["entries"]
    assert [(e["user"], e["target"], e["detail"]["change"]) for e in saves] == [
        ("ada", f"version {site['latest_version']}", "operator.add"),
        ("ada", f"version {site['latest_version'] - 1}", "skill.add"),
    ]
    assert saves[0]["detail"]["target"] == "operator op2001"
    every_site = {e["action"] for e in admin.get("/api/admin/audit", params={"action": "site."}).json()["entries"]}
    assert every_site == {"site.save", "site.apply"}  # the file as found is saved and applied by switchboard


def test_a_level_of_7_is_refused_naming_the_field(admin: TestClient) -> None:
    """422, and the message names operators.1.skills.general and the value; no version is saved."""
    answer = admin.post("/api/admin/site/operators", json=DANA | {"skills": {"general": 7}})
    assert answer.status_code == 422
    assert "operators.1.skills.general = 7" in answer.json()["detail"]
    assert len(admin.get("/api/admin/site/versions").json()["versions"]) == 1  # only the file as found


def test_removing_a_used_skill_is_refused_naming_the_operator(admin: TestClient) -> None:
    """The lab operator op1001 holds 'general': the refusal names her."""
    answer = admin.delete("/api/admin/site/skills/general")
    assert answer.status_code == 422
    assert "op1001 (Olga Test)" in answer.json()["detail"]
    assert admin.delete("/api/admin/site/operators/nobody").status_code == 404


@pytest.mark.parametrize("name", ["olga", "sam", "carl"])
def test_other_roles_get_403_on_the_admin_page_and_api(app: FastAPI, name: str) -> None:
    """Operator, supervisor and campaign manager: 403 on /admin, the site API and the users API."""
    client = TestClient(app)
    sign_in(client, app, name)
    assert client.get("/api/admin/site").status_code == 403
    assert client.post("/api/admin/site/operators", json=DANA).status_code == 403
    assert client.get("/api/admin/users").status_code == 403
    assert client.get("/admin", headers={"Accept": "text/html"}).status_code == 403


def test_apply_writes_the_file_with_a_backup_renders_reloads_and_tells_the_platform(
    app: FastAPI, admin: TestClient, tmp_path: Path
) -> None:
    """Apply: site file replaced (old one in .bak), pjsip.conf and extensions.conf rewritten, their modules
    reloaded, the platform told; the version is marked running and the console's own site has the operator."""
    asterisk, platform = _with_fakes(app, tmp_path / "asterisk")
    source = app.state.ctx.site.source
    before = source.read_text()
    version = admin.post("/api/admin/site/operators", json=DANA | {"extension": "2001"}).json()["version"]
    report = admin.post(f"/api/admin/site/versions/{version}/apply").json()["report"]
    assert report["platform"] == "reloaded" and platform.told == [version]
    assert "pjsip.conf" in report["files_written"] and "extensions.conf" in report["files_written"]
    assert asterisk.reloads == [["res_pjsip.so", "pbx_config.so"]]
    assert "[op2001]" in (tmp_path / "asterisk" / "pjsip.conf").read_text()
    assert Path(report["backup"]).read_text() == before
    assert tomllib.loads(source.read_text())["operators"][-1]["sip_user"] == "op2001"
    assert load_site(source).operator("op2001").extension == "2001"
    assert app.state.ctx.site.operator("op2001").name == "Dana Scully"
    state = admin.get("/api/admin/site").json()
    assert state["pending"] is False and state["applied_version"] == version
    applied = admin.get("/api/admin/audit", params={"action": "site.apply", "user": "ada"}).json()["entries"]
    assert applied[0]["target"] == f"version {version}" and applied[0]["detail"]["platform"] == "reloaded"


def test_rollback_repeats_an_earlier_version_and_applies_it(app: FastAPI, admin: TestClient, tmp_path: Path) -> None:
    """Roll back to the file as found: a new version (restored_from) is applied, the operator is gone again."""
    _with_fakes(app, tmp_path / "asterisk")
    first = admin.get("/api/admin/site/versions").json()["versions"][-1]["id"]
    added = admin.post("/api/admin/site/operators", json=DANA).json()["version"]
    admin.post(f"/api/admin/site/versions/{added}/apply").raise_for_status()
    answer = admin.post(f"/api/admin/site/versions/{first}/rollback")
    assert answer.status_code == 200, answer.text
    versions = admin.get("/api/admin/site/versions").json()["versions"]
    assert versions[0]["restored_from"] == first and versions[0]["running"]
    actions = [e["action"] for e in admin.get("/api/admin/audit", params={"user": "ada"}).json()["entries"]]
    assert actions[:4] == ["site.apply", "site.rollback", "site.apply", "site.save"]
    assert "[op2001]" not in (tmp_path / "asterisk" / "pjsip.conf").read_text()
    assert [op.sip_user for op in app.state.ctx.site.operators] == ["op1001"]
    diff = admin.get(f"/api/admin/site/versions/{added}/diff").json()["diff"]
    assert '+sip_user = "op2001"' in diff and "a-long-secret-2001" not in diff
    assert admin.post("/api/admin/site/versions/9999/rollback").status_code == 404


def test_apply_without_asterisk_or_platform_says_what_is_needed(admin: TestClient) -> None:
    """No Asterisk config folder known, no platform on the bus: the report says so, the file is still written."""
    version = admin.post("/api/admin/site/operators", json=DANA).json()["version"]
    report = admin.post(f"/api/admin/site/versions/{version}/apply").json()["report"]
    assert "config folder is unknown" in report["asterisk_errors"][0]
    assert report["platform"].startswith("restart needed")


def test_the_admin_creates_disables_and_resets_console_users(app: FastAPI, admin: TestClient) -> None:
    """A new operator account on op1001's phone signs in; disabled it cannot; its reset password works."""
    accounts = app.state.ctx.accounts
    answer = admin.post("/api/admin/users", json={"name": "otto", "role": "operator", "password": PASSWORD,
                                                  "sip_user": "op1001"})  # fmt: skip
    assert answer.status_code == 201, answer.text
    users = {u["name"]: u for u in admin.get("/api/admin/users").json()["users"]}
    assert users["otto"]["role"] == "operator" and users["otto"]["sip_user"] == "op1001"
    assert accounts.check_password("otto", PASSWORD) is not None
    admin.post("/api/admin/users/otto/disable").raise_for_status()
    assert accounts.check_password("otto", PASSWORD) is None
    admin.post("/api/admin/users/otto/enable").raise_for_status()
    admin.post("/api/admin/users/otto/password", json={"password": "another password"}).raise_for_status()
    assert accounts.check_password("otto", "another password") is not None
    refused = admin.post("/api/admin/users", json={"name": "x", "role": "operator", "password": PASSWORD,
                                                   "sip_user": "op9999"})  # fmt: skip
    assert refused.status_code == 422 and "sip_user = 'op9999'" in refused.json()["detail"]
    assert admin.post("/api/admin/users/ada/disable").status_code == 422  # not yourself
    assert admin.post("/api/admin/users/nobody/disable").status_code == 404
    actions = [e["action"] for e in admin.get("/api/admin/audit", params={"action": "user."}).json()["entries"]]
    assert actions == ["user.password", "user.enable", "user.disable", "user.add"]


def test_the_admin_page_renders_for_the_admin(admin: TestClient) -> None:
    """/admin is the set-up page, with its script."""
    page = admin.get("/admin")
    assert page.status_code == 200
    assert 'id="operators"' in page.text and "/static/admin.js" in page.text and "/static/admin_users.js" in page.text
