"""The `switchboard` console command; one module per topic registers its commands on the group.

Add a topic: write switchboard/cli/<topic>.py using `cli` from base, and import it here.
"""

import switchboard.cli.acd  # registers the commands
import switchboard.cli.campaign  # registers the commands
import switchboard.cli.console  # registers the commands
import switchboard.cli.dialer  # registers the commands
import switchboard.cli.dialplan  # registers the commands
import switchboard.cli.leads  # registers the commands
import switchboard.cli.operator  # registers the commands
import switchboard.cli.person  # registers the commands
import switchboard.cli.staffing  # noqa: F401  (registers the command)
from switchboard.cli import site  # noqa: F401  (registers the commands)
from switchboard.cli.base import cli, main

__all__ = ["cli", "main"]
