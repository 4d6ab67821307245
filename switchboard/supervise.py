"""Listen to, whisper to or barge in on an operator's call: the supervisor's own phone rings, and once answered it
runs ChanSpy on the operator's channel. The platform does it with its runtime AMI user, on the console's command.

Checks and the Originate are worked out by pure functions over Asterisk's channel list; `start_spy` does the I/O.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from switchboard.ami.framing import AmiMessage, Headers
from switchboard.ami.translate import PJSIP_PREFIX
from switchboard.config import Site
from switchboard.config_sections import Operator
from switchboard.errors import SpyRefusedError

if TYPE_CHECKING:
    from switchboard.commands import Args
    from switchboard.platform import Platform

log = logging.getLogger("switchboard.supervise")

RING_S = 30  # how long the supervisor's phone rings before the Originate gives up
SPY_CHANNEL_PREFIX = "switchboard-spy-"  # + a random token: the uniqueid of the supervisor's leg (ChannelId)
UNREACHABLE = frozenset({"UNAVAILABLE", "INVALID"})


class SpyMode(StrEnum):
    LISTEN = "listen"
    WHISPER = "whisper"
    BARGE = "barge"


# q: nothing announced to the supervisor; E: the supervisor's leg ends when the operator's channel hangs up.
# w: the operator hears the supervisor, the caller does not; B: both of them hear the supervisor.
CHANSPY_OPTIONS = {SpyMode.LISTEN: "qE", SpyMode.WHISPER: "qEw", SpyMode.BARGE: "qEB"}


class Ami(Protocol):
    """What spying needs of the AMI client (switchboard.ami.client.AmiClient)."""

    async def action(self, name: str, headers: Headers | None = None, *, timeout: float | None = None) -> AmiMessage:
        """One action and its response."""

    async def list_action(
        self, name: str, headers: Headers | None = None, *, timeout: float | None = None
    ) -> list[AmiMessage]:
        """A list action's item events."""


@dataclass(frozen=True, slots=True)
class SpyOrder:
    """One spying session to start: whose phone rings, which channel it spies on, how."""

    supervisor: Operator
    operator: Operator
    mode: SpyMode
    operator_channel: str  # e.g. PJSIP/op1001-0000002a
    spy_uniqueid: str  # the uniqueid the supervisor's leg gets

    def originate(self) -> dict[str, str]:
        """The Originate action's headers: ring the supervisor, then ChanSpy on the operator's exact channel."""
        return {
            "Channel": f"{PJSIP_PREFIX}{self.supervisor.sip_user}",
            "Application": "ChanSpy",
            "Data": f"{self.operator_channel},{CHANSPY_OPTIONS[self.mode]}",
            "CallerID": f"{self.mode.value} {self.operator.name} <{self.operator.sip_user}>",
            "Timeout": str(RING_S * 1000),
            "ChannelId": self.spy_uniqueid,
            "Async": "true",
        }

    def as_dict(self) -> dict[str, str]:
        return {
            "supervisor": self.supervisor.sip_user,
            "operator": self.operator.sip_user,
            "mode": self.mode.value,
            "operator_channel": self.operator_channel,
            "spy_uniqueid": self.spy_uniqueid,
        }


def supervisor_phone(site: Site, sip_user: str | None) -> Operator:
    """The phone that rings for a supervisor: their account's sip_user, an operator the site marks supervisor."""
    if not sip_user:
        raise SpyRefusedError(
            "your account has no phone: an admin must set its sip_user to a supervisor's phone", field="supervisor"
        )
    phone = _site_phone(site, sip_user, "sip_user", "supervisor")
    if not phone.supervisor:
        raise SpyRefusedError(
            f"sip_user = {sip_user!r}: this phone is not marked supervisor = true in the site", field="supervisor"
        )
    return phone


def spied_operator(site: Site, sip_user: str, supervisor: Operator) -> Operator:
    """The operator to spy on: one of the site's operators, and not the supervisor's own phone."""
    operator = _site_phone(site, sip_user, "operator", "operator")
    if operator.sip_user == supervisor.sip_user:
        raise SpyRefusedError(f"operator = {sip_user!r}: this is your own phone", field="operator")
    return operator


def call_channel(sip_user: str, channels: Iterable[Mapping[str, str]]) -> str:
    """The operator's channel that shares a bridge with another party (a caller or a lead), from CoreShowChannels.

    An operator in session mode has a channel all day in their holding bridge: only a second party in that bridge
    makes it a call. A spying supervisor's leg is in no bridge, so it never counts as a party.
    """
    listed = list(channels)
    prefix = f"{PJSIP_PREFIX}{sip_user}-"
    bridges: dict[str, int] = {}
    for item in listed:
        bridge = item.get("BridgeId") or ""
        if bridge:
            bridges[bridge] = bridges.get(bridge, 0) + 1
    for item in listed:
        name, bridge = item.get("Channel") or "", item.get("BridgeId") or ""
        if name.startswith(prefix) and bridge and bridges[bridge] > 1:
            return name
    raise SpyRefusedError(f"operator = {sip_user!r}: not on a call", field="operator")


def plan_spy(
    site: Site,
    supervisor_sip_user: str | None,
    operator_sip_user: str,
    mode_name: str,
    channels: Iterable[Mapping[str, str]],
    token: str,
) -> SpyOrder:
    """Every check, in the order a supervisor can act on them; the order to send when they all pass."""
    try:
        mode = SpyMode(mode_name)
    except ValueError:
        modes = ", ".join(m.value for m in SpyMode)
        raise SpyRefusedError(f"mode = {mode_name!r}: expected one of {modes}", field="mode") from None
    supervisor = supervisor_phone(site, supervisor_sip_user)
    operator = spied_operator(site, operator_sip_user, supervisor)
    channel = call_channel(operator.sip_user, channels)
    return SpyOrder(supervisor, operator, mode, channel, SPY_CHANNEL_PREFIX + token)


def phone_state(sip_user: str, devices: Iterable[Mapping[str, str]]) -> str:
    """The phone's device state from DeviceStateList ('UNKNOWN' when Asterisk does not list it)."""
    device = f"{PJSIP_PREFIX}{sip_user}"
    return next((item.get("State") or "UNKNOWN" for item in devices if item.get("Device") == device), "UNKNOWN")


async def start_spy(
    ami: Ami, site: Site, supervisor_sip_user: str | None, operator_sip_user: str, mode: str
) -> SpyOrder:
    """Check against Asterisk's live channels, then ring the supervisor's phone (Async: the answer comes later)."""
    channels = await ami.list_action("CoreShowChannels")
    order = plan_spy(site, supervisor_sip_user, operator_sip_user, mode, channels, secrets.token_hex(8))
    state = phone_state(order.supervisor.sip_user, await ami.list_action("DeviceStateList"))
    if state in UNREACHABLE:
        raise SpyRefusedError(
            f"sip_user = {order.supervisor.sip_user!r}: your phone is not registered ({state})", field="supervisor"
        )
    await ami.action("Originate", order.originate())
    return order


def spy_handler(mode: SpyMode) -> Callable[[Platform, Args], Awaitable[dict[str, Any]]]:
    """The command bus handler for one mode: args `supervisor` (their phone's sip_user) and `operator`."""

    async def handler(platform: Platform, args: Args) -> dict[str, Any]:
        order = await start_spy(platform.ami, platform.site, args.text("supervisor"), args.text("operator"), mode)
        log.info("%s: %s on %s (%s)", order.supervisor.sip_user, mode.value, order.operator_channel, order.spy_uniqueid)
        return order.as_dict()

    handler.__name__ = f"supervisor_{mode.value}"
    return handler


def _site_phone(site: Site, sip_user: str, shown_as: str, field: str) -> Operator:
    try:
        return site.operator(sip_user)
    except KeyError:
        raise SpyRefusedError(
            f"{shown_as} = {sip_user!r}: no operator of the site has this phone", field=field
        ) from None
