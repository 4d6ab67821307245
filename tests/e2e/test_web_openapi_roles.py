"""Every console endpoint refuses who it should: read the OpenAPI document and call each operation without a
session (401, or a redirect to sign in for a page), with every role not in its `x-roles` (403), and with an allowed
role but no CSRF token on a change (403). A route someone adds later is checked without editing this file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from switchboard.web.app import WebContext, api_routes, gate_roles
from switchboard.web.auth import COOKIE, CSRF_HEADER
from switchboard.web.roles import Role
from tests.console_support import ACCOUNTS, PASSWORD, console_app

pytestmark = pytest.mark.e2e

# Public on purpose: signing in, and the probes a load balancer and Prometheus call.
PUBLIC = {("GET", "/login"), ("POST", "/api/login"), ("GET", "/health"), ("GET", "/metrics")}
# FastAPI's own pages, outside the OpenAPI document.
DOCS = {"/api/openapi.json", "/api/docs", "/api/docs/oauth2-redirect"}
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
NAME_OF_ROLE = {role: name for name, role in ACCOUNTS.items()}


@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # the path with {parameters}
    path: str  # the path filled in
    roles: tuple[str, ...]
    html: bool  # a page: without a session it sends the browser to sign in
    body: dict[str, Any]  # keyword arguments for the request's body

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


def _plausible(parameter: dict[str, Any]) -> str:
    """A value of the right type for a path parameter: the gate must answer before any lookup."""
    schema = parameter.get("schema", {})
    if "example" in parameter:
        return str(parameter["example"])
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("type") in ("integer", "number"):
        return "1"
    return "op1001" if "user" in parameter["name"] or "operator" in parameter["name"] else "general"


def _operations(document: dict[str, Any]) -> list[Operation]:
    found = []
    for template, item in document["paths"].items():
        for method, op in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            params = {p["name"]: _plausible(p) for p in op.get("parameters", []) if p["in"] == "path"}
            path = re.sub(r"{([^}:]+)(?::[^}]*)?}", lambda m, params=params: params[m.group(1)], template)
            content = op.get("requestBody", {}).get("content", {})
            body: dict[str, Any] = {}
            if "application/json" in content:
                body = {"json": {}}
            elif content:  # a form or an upload: an empty form
                body = {"data": {}}
            produces = {media for answer in op.get("responses", {}).values() for media in answer.get("content", {})}
            found.append(
                Operation(method.upper(), template, path, tuple(op.get("x-roles", ())), "text/html" in produces, body)
            )
    return found


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    app = console_app(tmp_path_factory.mktemp("console"))
    yield app
    app.state.ctx.engine.dispose()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def operations(client: TestClient) -> list[Operation]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return _operations(response.json())


@pytest.fixture(scope="module")
def sessions(app: FastAPI) -> dict[str, tuple[str, str]]:
    """Per role: (cookie token, CSRF token) of a signed-in account."""
    ctx: WebContext = app.state.ctx
    out = {}
    for role, name in NAME_OF_ROLE.items():
        account = ctx.accounts.check_password(name, PASSWORD)
        assert account is not None
        token, session = ctx.accounts.open_session(account, ctx.clock())
        out[role] = (token, session.csrf_token)
    return out


def _call(client: TestClient, op: Operation, session: tuple[str, str] | None, csrf: bool = True) -> Any:
    client.cookies.clear()
    headers = {}
    if session is not None:
        client.cookies.set(COOKIE, session[0])
        if csrf:
            headers[CSRF_HEADER] = session[1]
    return client.request(op.method, op.path, headers=headers, follow_redirects=False, **op.body)


def test_the_document_lists_the_console_endpoints(operations: list[Operation]) -> None:
    """The walk has something to walk: the session endpoints at least, each role appearing somewhere."""
    names = {str(op) for op in operations}
    assert {"POST /api/login", "POST /api/logout", "GET /api/me", "GET /health", "GET /metrics"} <= names
    assert {role for op in operations for role in op.roles} == {role.value for role in Role}


def test_every_endpoint_but_the_public_ones_declares_its_roles(operations: list[Operation]) -> None:
    """A route without require()/page() has no x-roles: that is a route someone forgot to protect."""
    unprotected = [str(op) for op in operations if not op.roles and (op.method, op.template) not in PUBLIC]
    assert unprotected == []
    unknown = {role for op in operations for role in op.roles} - {role.value for role in Role}
    assert unknown == set()


def test_no_route_hides_from_the_document_without_a_gate(app: FastAPI) -> None:
    """A route left out of the OpenAPI document escapes this walk, so it must still carry a role gate."""
    hidden = [
        f"{sorted(route.methods or ())} {route.path_format}"
        for route in api_routes(app)
        if not route.include_in_schema and route.path_format not in DOCS and not gate_roles(route.dependant)
    ]
    assert hidden == []


def test_without_a_session_every_protected_endpoint_refuses(client: TestClient, operations: list[Operation]) -> None:
    """401 from the API; a page sends the browser to /login?next=... instead."""
    wrong = []
    for op in operations:
        if not op.roles:
            continue
        response = _call(client, op, None)
        location = response.headers.get("location", "")
        redirected = op.html and response.status_code == 303 and location.startswith("/login")
        if response.status_code != 401 and not redirected:
            wrong.append(f"{op}: {response.status_code} {response.text[:120]!r}")
    assert wrong == []


def test_every_role_not_listed_gets_403(
    client: TestClient, operations: list[Operation], sessions: dict[str, tuple[str, str]]
) -> None:
    """Each role outside an operation's x-roles is refused with 403, whatever the method."""
    wrong = []
    for op in operations:
        for role in sorted(set(sessions) - set(op.roles)) if op.roles else []:
            response = _call(client, op, sessions[role])
            if response.status_code != 403:
                wrong.append(f"{op} as {role}: {response.status_code} {response.text[:120]!r}")
    assert wrong == []


def test_a_change_without_the_csrf_token_is_refused_even_to_an_allowed_role(
    client: TestClient, operations: list[Operation], sessions: dict[str, tuple[str, str]]
) -> None:
    """POST/PUT/PATCH/DELETE with the session cookie but no CSRF token: 403 before the endpoint runs."""
    wrong = []
    for op in operations:
        if op.method not in UNSAFE or not op.roles:
            continue
        role = op.roles[0]
        response = _call(client, op, sessions[role], csrf=False)
        if response.status_code != 403:
            wrong.append(f"{op} as {role}: {response.status_code} {response.text[:120]!r}")
    assert wrong == []
