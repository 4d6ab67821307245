"""The `switchboard` command group and what every command shares: --config, --json, errors.

Every command finds the site through --config, else $SWITCHBOARD_CONFIG, else ./switchboard.toml.
"""

from __future__ import annotations

import getpass
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

import click

from switchboard.config import Site, load_site, resolve_config_path
from switchboard.errors import SwitchboardError
from switchboard.privacy import install_log_masking

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


class CliContext:
    def __init__(self) -> None:
        self.config_option: str | None = None

    def site(self, *, check_ports: bool = False) -> Site:
        return load_site(resolve_config_path(self.config_option), check_ports=check_ports)


def _take_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        ctx.ensure_object(CliContext).config_option = value


def config_option(func: Any) -> Any:
    """--config FILE on every command, so it may stand before or after the command's name."""
    return click.option(
        "--config",
        metavar="FILE",
        expose_value=False,
        callback=_take_config,
        is_eager=True,
        help="Site configuration (default: $SWITCHBOARD_CONFIG, else ./switchboard.toml).",
    )(func)


def migrated_engine(site: Site) -> Engine:
    """The site's SQL store, migrated first (a fresh site has no console tables yet)."""
    from switchboard.store.calls import CallStore, make_engine  # SQLAlchemy loads only for the commands using it

    engine = make_engine(site.store_url_effective)
    CallStore(engine).create_schema()
    return engine


def cli_user() -> str:
    """Who acted from the command line, as the audit log and the command bus name them."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        login = "unknown"
    return f"cli:{login}"[:40]


def emit(data: Any, as_json: bool, human: str | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))
    else:
        click.echo(human if human is not None else json.dumps(data, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """Switchboard: a call-centre platform for Asterisk (skills ACD, lead lists, predictive dialer)."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_masking()  # a number that reaches a log line unmasked is masked on the way out
    ctx.ensure_object(CliContext)


def main() -> None:
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except SwitchboardError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
