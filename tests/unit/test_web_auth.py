"""Signing in to the console: password hashes, sliding sessions, CSRF, the sign-in throttle, cookie flags, and the
nav each role sees."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from switchboard.store.accounts import SESSION_S, Account
from switchboard.web.auth import COOKIE, CSRF_HEADER
from switchboard.web.pages import page, render, safe_next
from switchboard.web.roles import Role
from switchboard.web.routes.session import MAX_FAILURES_PER_ACCOUNT, MAX_FAILURES_PER_ADDRESS
from tests.console_support import ACCOUNTS, PASSWORD, console_app, sign_in

START = 1_800_000_000.0


class Clock:
    """The console's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Iterator[FastAPI]:
    app = console_app(tmp_path, clock=clock)
    yield app
    app.state.ctx.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _login(client: TestClient, name: str, password: str = PASSWORD, **headers: str) -> int:
    return client.post("/api/login", json={"name": name, "password": password}, headers=headers).status_code


def test_password_is_stored_as_argon2id_and_only_the_right_one_verifies(app: FastAPI) -> None:
    """The users table holds an argon2id hash; check_password accepts the password and nothing else."""
    accounts = app.state.ctx.accounts
    account = accounts.check_password("olga", PASSWORD)
    assert account is not None
    assert (account.name, account.role, account.sip_user) == ("olga", "operator", "op1001")
    assert accounts.check_password("olga", PASSWORD + "x") is None
    assert accounts.check_password("nobody", PASSWORD) is None
    with app.state.ctx.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT password_hash FROM users WHERE name = 'olga'").scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_session_expiry_slides_with_each_request(client: TestClient, clock: Clock) -> None:
    """A session used within SESSION_S stays open past its first expiry; left idle for SESSION_S it ends."""
    assert _login(client, "sam") == 200
    for _ in range(3):
        clock.now += SESSION_S - 60
        assert client.get("/api/me").status_code == 200
    assert clock.now > START + SESSION_S  # outlived the first expiry thanks to the slide
    clock.now += SESSION_S + 1
    assert client.get("/api/me").status_code == 401


def test_unsafe_request_needs_the_session_csrf_token(client: TestClient, app: FastAPI) -> None:
    """POST without the CSRF token, or with another one, is 403; with the header or the form field it goes through."""
    token = sign_in(client, app, "sam")
    del client.headers[CSRF_HEADER]
    assert client.post("/api/logout").status_code == 403
    assert client.post("/api/logout", headers={CSRF_HEADER: "not-the-token"}).status_code == 403
    assert client.get("/api/me").status_code == 200  # the refusals did not end the session
    response = client.post("/api/logout", headers={CSRF_HEADER: token})
    assert response.status_code == 200
    assert client.get("/api/me").status_code == 401
    form_token = sign_in(client, app, "sam")
    del client.headers[CSRF_HEADER]
    response = client.post("/api/logout", data={"csrf_token": form_token}, follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login")


def test_five_failures_lock_the_account_for_fifteen_minutes(client: TestClient, clock: Clock) -> None:
    """After 5 wrong passwords even the right one is 429 with Retry-After, until the window has passed."""
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        assert _login(client, "carl", "wrong password") == 401
    response = client.post("/api/login", json={"name": "carl", "password": PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) == 15 * 60
    assert "too many failed sign-ins" in response.json()["detail"]
    assert _login(client, "sam") == 200  # another account from the same address is not locked
    clock.now += 15 * 60 + 1
    assert _login(client, "carl") == 200


def test_twenty_failures_from_one_address_lock_every_account(client: TestClient) -> None:
    """Guessing across many names from one address is stopped at 20 failures, whatever the name."""
    for i in range(MAX_FAILURES_PER_ADDRESS):
        assert _login(client, f"guess{i}", "wrong password") == 401
    assert _login(client, "ada") == 429


def test_sign_ins_and_refusals_are_audited(client: TestClient, app: FastAPI) -> None:
    """A refused and an accepted sign-in each leave an audit row naming the account."""
    assert _login(client, "ada", "wrong password") == 401
    assert _login(client, "ada") == 200
    with app.state.ctx.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT user_name, action FROM audit_log ORDER BY id").all()
    assert [tuple(r) for r in rows] == [("ada", "session.sign_in_refused"), ("ada", "session.sign_in")]


def test_session_cookie_is_httponly_strict_and_secure_only_over_https(app: FastAPI) -> None:
    """The cookie is HttpOnly, SameSite=Strict, Path=/; Secure when the request came over https."""
    with TestClient(app) as plain, TestClient(app, base_url="https://testserver") as tls:
        for client, secure in ((plain, False), (tls, True)):
            response = client.post("/api/login", json={"name": "olga", "password": PASSWORD})
            cookie = response.headers["set-cookie"]
            flags = {part.strip().lower() for part in cookie.split(";")[1:]}
            assert cookie.startswith(f"{COOKIE}=")
            assert {"httponly", "samesite=strict", "path=/"} <= flags
            assert ("secure" in flags) is secure


def test_cross_site_form_post_cannot_sign_in(client: TestClient) -> None:
    """A form posted from another site's page (Origin elsewhere) is refused; our own page's Origin is fine."""
    form = {"name": "olga", "password": PASSWORD}
    refused = client.post("/api/login", data=form, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert "another site" in refused.text
    assert COOKIE not in refused.headers.get("set-cookie", "")
    accepted = client.post("/api/login", data=form, headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert (accepted.status_code, accepted.headers["location"]) == (303, "/operator")
    proxied = {"Origin": "https://console.example", "X-Forwarded-Host": "console.example"}
    assert client.post("/api/login", data=form, headers=proxied, follow_redirects=False).status_code == 303


def test_wrong_password_on_the_form_shows_the_error_on_the_sign_in_page(client: TestClient) -> None:
    """The form gets the sign-in page back, 401, with the message and the name kept."""
    response = client.post("/api/login", data={"name": "olga", "password": "nope-nope"})
    assert response.status_code == 401
    assert 'id="login-error"' in response.text
    assert "wrong user name or password" in response.text
    assert 'value="olga"' in response.text


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/supervisor?x=1", "/supervisor?x=1"), ("//evil.example/", "/"), ("https://evil.example/", "/"), ("", "/")],
)
def test_after_sign_in_only_a_path_on_this_site_is_followed(target: str, expected: str) -> None:
    """?next= may name a page here, never another host."""
    assert safe_next(target) == expected


def test_a_page_without_session_redirects_to_sign_in_and_a_wrong_role_gets_a_403_page(
    client: TestClient, app: FastAPI
) -> None:
    """Pages send a browser to /login?next=...; the API answers 401; a page's wrong role is a readable 403."""

    @app.get("/admin-only", response_class=HTMLResponse)
    def admin_only(request: Request, account: Annotated[Account, Depends(page(Role.ADMIN))]) -> HTMLResponse:
        return render(request, "home.html", account)

    response = client.get("/admin-only?tab=2", follow_redirects=False)
    assert (response.status_code, response.headers["location"]) == (303, "/login?next=/admin-only%3Ftab%3D2")
    assert client.get("/api/me").status_code == 401
    sign_in(client, app, "olga")
    refused = client.get("/admin-only")
    assert refused.status_code == 403
    assert "Not for your role" in refused.text
    assert 'id="account-name">olga<' in refused.text  # the header still shows who is signed in
    page_ = client.get("/login?next=/operator", follow_redirects=False)
    assert (page_.status_code, page_.headers["location"]) == (303, "/operator")


EXPECTED_NAV = {
    "operator": ["/operator"],
    "supervisor": ["/supervisor"],
    "campaign_manager": ["/campaigns"],
    "admin": ["/supervisor", "/campaigns", "/admin"],
}


@pytest.mark.parametrize("name", sorted(ACCOUNTS))
def test_nav_shows_only_the_areas_the_role_may_use(client: TestClient, app: FastAPI, name: str) -> None:
    """The header's nav lists exactly the role's areas, and names the account and its role."""
    sign_in(client, app, name)
    response = client.get("/", headers={"accept": "text/html"}, follow_redirects=False)
    if response.status_code == 303:  # the role's area is installed: the start page sends us there; read that page
        response = client.get(response.headers["location"], headers={"accept": "text/html"})
    assert response.status_code == 200
    nav = re.search(r'<nav class="areas"[^>]*>(.*?)</nav>', response.text, re.S)
    assert nav is not None
    assert re.findall(r'href="([^"]+)"', nav.group(1)) == EXPECTED_NAV[ACCOUNTS[name]]
    assert f'data-role="{ACCOUNTS[name]}"' in response.text
    assert f'id="account-name">{name}<' in response.text
