"""Console commands: `switchboard serve` runs the web console; `switchboard users ...` manages who may sign in.

Passwords come only on standard input (--password-stdin), never on the command line where `ps` would show them.
"""

from __future__ import annotations

import ipaddress
import sys
import time
from dataclasses import asdict

import click

from switchboard.cli.base import CliContext, cli, cli_user, config_option, emit, migrated_engine
from switchboard.config import Site
from switchboard.store.accounts import ROLES, AccountStore

LOOPBACK_NAMES = {"localhost", "ip6-localhost"}


def _accounts(site: Site) -> AccountStore:
    return AccountStore(migrated_engine(site))


def _read_password(password_stdin: bool) -> str:
    if not password_stdin:
        raise click.UsageError("give the password on standard input with --password-stdin (never as an argument)")
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise click.UsageError("--password-stdin: standard input held no password (one line is read)")
    return password


@cli.group("users")
def users() -> None:
    """Console accounts: who may sign in, with which role."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES), help="What the account may do in the console.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--sip-user", default=None, help="The operator (site file's sip_user) this account works as.")
@config_option
@click.pass_obj
def users_add(obj: CliContext, name: str, role: str, password_stdin: bool, sip_user: str | None) -> None:
    """Add the account NAME."""
    site = obj.site()
    if sip_user is not None and sip_user not in {op.sip_user for op in site.operators}:
        raise click.BadParameter(f"{sip_user!r} is not an operator of {site.source}", param_hint="--sip-user")
    password = _read_password(password_stdin)
    accounts = _accounts(site)
    now = time.time()
    accounts.add_user(name, role, password, now, sip_user=sip_user)
    accounts.audit(cli_user(), "users.add", name, {"role": role, "sip_user": sip_user}, now)
    click.echo(f"added {name} ({role})")
    if role == "operator" and sip_user is None:
        click.echo(
            f"warning: operator {name!r} has no --sip-user: the operator desk will not know their phone", err=True
        )


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the accounts as JSON.")
@config_option
@click.pass_obj
def users_list(obj: CliContext, as_json: bool) -> None:
    """List the accounts."""
    rows = _accounts(obj.site()).list_users()
    lines = [f"{'NAME':<20} {'ROLE':<17} {'SIP USER':<12} STATE"]
    lines += [
        f"{r.name:<20} {r.role:<17} {r.sip_user or '-':<12} {'disabled' if r.disabled else 'active'}" for r in rows
    ]
    emit([asdict(r) for r in rows], as_json, "\n".join(lines) if rows else "no accounts yet")


@users.command("disable")
@click.argument("name")
@config_option
@click.pass_obj
def users_disable(obj: CliContext, name: str) -> None:
    """Stop NAME from signing in; their open sessions end now."""
    accounts = _accounts(obj.site())
    accounts.disable(name)
    accounts.audit(cli_user(), "users.disable", name, None, time.time())
    click.echo(f"disabled {name}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from the first line of standard input.")
@config_option
@click.pass_obj
def users_password(obj: CliContext, name: str, password_stdin: bool) -> None:
    """Set NAME's password; their open sessions end."""
    password = _read_password(password_stdin)
    accounts = _accounts(obj.site())
    accounts.set_password(name, password)
    accounts.audit(cli_user(), "users.password", name, None, time.time())
    click.echo(f"new password set for {name}")


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--public", is_flag=True, help="Allow an address other than loopback (put TLS in front of it).")
@config_option
@click.pass_obj
def serve(obj: CliContext, host: str, port: int, public: bool) -> None:
    """Run the web console (migrates the store first)."""
    import uvicorn

    from switchboard.web.app import create_app

    if not is_loopback(host):
        if not public:
            raise click.UsageError(
                f"--host {host} is not a loopback address: the console speaks plain HTTP, so passwords and session "
                "cookies would cross the network in clear. Put a TLS proxy in front and add --public."
            )
        click.echo(
            f"warning: serving plain HTTP on {host}:{port}; only a TLS proxy in front keeps passwords and cookies "
            "safe (the session cookie is marked Secure when the proxy says https in X-Forwarded-Proto)",
            err=True,
        )
    site = obj.site()
    engine = migrated_engine(site)
    click.echo(f"console of {site.name} on http://{host}:{port}/", err=True)
    uvicorn.run(create_app(site, engine=engine), host=host, port=port, log_level="warning", access_log=False)
