"""`switchboard users ...` and `switchboard serve` as an administrator runs them: accounts added with the password
on standard input, listed, disabled, given a new password; the console refuses a public address without --public."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from switchboard.lab.ports import free_port
from tests.browser.helpers import start_console, stop_console
from tests.console_support import console_site

pytestmark = pytest.mark.e2e

SWITCHBOARD = str(Path(sys.executable).parent / "switchboard")


def _run(site: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    return subprocess.run(
        [SWITCHBOARD, *args, "--config", str(site)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_users_are_added_listed_disabled_and_given_new_passwords(tmp_path: Path) -> None:
    """The lifecycle of an account from the command line, each step audited, each bad input named."""
    site, _ = console_site(tmp_path)
    added = _run(site, "users", "add", "olga", "--role", "operator", "--sip-user", "op1001", "--password-stdin",
                 stdin="first-password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip() == "added olga (operator)"
    again = _run(site, "users", "add", "olga", "--role", "admin", "--password-stdin", stdin="first-password\n")
    assert (again.returncode, again.stderr.strip()) == (2, "error: user 'olga' exists already")
    no_stdin = _run(site, "users", "add", "ada", "--role", "admin")
    assert no_stdin.returncode == 2
    assert "--password-stdin" in no_stdin.stderr
    empty = _run(site, "users", "add", "ada", "--role", "admin", "--password-stdin", stdin="\n")
    assert empty.returncode == 2
    assert "standard input held no password" in empty.stderr
    short = _run(site, "users", "add", "ada", "--role", "admin", "--password-stdin", stdin="short\n")
    assert "shorter than 8 characters" in short.stderr
    phone = _run(site, "users", "add", "ada", "--role", "admin", "--sip-user", "op9", "--password-stdin", stdin="x" * 9)
    assert "'op9' is not an operator" in phone.stderr
    listed = json.loads(_run(site, "users", "list", "--json").stdout)
    assert [(u["name"], u["role"], u["sip_user"], u["disabled"]) for u in listed] == [
        ("olga", "operator", "op1001", False)
    ]
    assert _run(site, "users", "password", "olga", "--password-stdin", stdin="second-password\n").returncode == 0
    assert _run(site, "users", "disable", "olga").returncode == 0
    assert "olga                 operator          op1001       disabled" in _run(site, "users", "list").stdout
    missing = _run(site, "users", "disable", "nobody")
    assert (missing.returncode, missing.stderr.strip()) == (2, "error: no user 'nobody'")


def test_serve_refuses_a_public_address_without_public(tmp_path: Path) -> None:
    """--host 0.0.0.0 without --public is a usage error explaining why (plain HTTP)."""
    site, _ = console_site(tmp_path)
    refused = _run(site, "serve", "--host", "0.0.0.0", "--port", str(free_port()))
    assert refused.returncode == 2
    assert "not a loopback address" in refused.stderr
    assert "TLS" in refused.stderr


def test_serve_runs_the_console_and_a_user_added_by_the_cli_signs_in(tmp_path: Path) -> None:
    """A fresh site: `users add`, then `serve`; the account signs in over HTTP and sees itself in /api/me."""
    site, _ = console_site(tmp_path)
    assert (
        _run(site, "users", "add", "sam", "--role", "supervisor", "--password-stdin", stdin="pass-word-1\n").returncode
        == 0
    )
    port = free_port()
    process = start_console(site, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.post("/api/login", json={"name": "sam", "password": "wrong-one"}).status_code == 401
            signed = client.post("/api/login", json={"name": "sam", "password": "pass-word-1"})
            assert signed.status_code == 200
            me = client.get("/api/me").json()
            assert (me["name"], me["role"], me["home"]) == ("sam", "supervisor", "/supervisor")
            assert client.get("/metrics").text.startswith("# HELP switchboard_redis_up")
    finally:
        stop_console(process)
    # uvicorn shuts down on SIGTERM, then re-raises it (exit by that signal) so a supervisor sees why it stopped
    assert process.returncode in (0, -signal.SIGTERM)
    assert "Traceback" not in (tmp_path / f"console-{port}.log").read_text()
