"""Listen / whisper / barge decided over Asterisk's channel list: who may spy, on which channel, with which options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from switchboard.ami.framing import AmiMessage
from switchboard.commands import HANDLERS, Args
from switchboard.config import Site, parse_site
from switchboard.errors import SpyRefusedError
from switchboard.supervise import SpyMode, call_channel, plan_spy, start_spy

SITE: Site = parse_site(
    {
        "skills": ["general"],
        "ami": {"secret": "unit-test-secret-1", "admin_secret": "unit-test-secret-2"},
        "queues": [{"name": "general", "requires": {"general": 1}}],
        "operators": [
            {"sip_user": "op1001", "secret": "operator-secret-1", "name": "Anna", "skills": {"general": 5}},
            {"sip_user": "op10", "secret": "operator-secret-2", "name": "Ten", "skills": {"general": 5}},
            {"sip_user": "sup2001", "secret": "operator-secret-3", "name": "Sam", "supervisor": True},
        ],
    }
)
CALLER = {"Channel": "PJSIP/trunk-00000001", "Uniqueid": "1.1", "BridgeId": "b-1", "Application": "AGI"}
OPERATOR = {"Channel": "PJSIP/op1001-00000002", "Uniqueid": "1.2", "BridgeId": "b-1", "Application": "AppDial"}


def _msg(item: Mapping[str, str]) -> AmiMessage:
    return AmiMessage.of(*item.items())


@dataclass
class FakeAmi:
    """Answers CoreShowChannels and DeviceStateList from lists; records every other action."""

    channels: list[dict[str, str]]
    devices: list[dict[str, str]] = field(default_factory=list)
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def action(self, name: str, headers: Any = None, *, timeout: float | None = None) -> AmiMessage:
        self.sent.append((name, dict(headers or {})))
        return _msg({"Response": "Success"})

    async def list_action(self, name: str, headers: Any = None, *, timeout: float | None = None) -> list[AmiMessage]:
        return [_msg(item) for item in {"CoreShowChannels": self.channels, "DeviceStateList": self.devices}[name]]


@pytest.mark.parametrize(("mode", "options"), [("listen", "qE"), ("whisper", "qEw"), ("barge", "qEB")])
def test_the_supervisors_phone_is_rung_into_chanspy_on_the_operators_exact_channel(mode: str, options: str) -> None:
    """Listen is quiet (q), whisper adds w, barge adds B; each ends with the operator's channel (E)."""
    order = plan_spy(SITE, "sup2001", "op1001", mode, [CALLER, OPERATOR], "abc")
    headers = order.originate()
    assert headers["Channel"] == "PJSIP/sup2001"
    assert (headers["Application"], headers["Data"]) == ("ChanSpy", f"PJSIP/op1001-00000002,{options}")
    assert headers["ChannelId"] == "switchboard-spy-abc" and headers["Async"] == "true"
    assert headers["CallerID"] == f"{mode} Anna <op1001>"


def test_an_operator_in_session_mode_is_on_a_call_only_with_a_second_party_in_the_bridge() -> None:
    """The holding bridge alone is no call; a caller bridged in makes one; a spy's leg (no bridge) never does."""
    session = {"Channel": "PJSIP/op1001-00000009", "BridgeId": "hold-1", "Application": "ConfBridge"}
    spy = {"Channel": "PJSIP/sup2001-0000000a", "BridgeId": "", "Application": "ChanSpy"}
    with pytest.raises(SpyRefusedError, match="'op1001': not on a call"):
        call_channel("op1001", [session, spy])
    caller = {"Channel": "PJSIP/trunk-0000000b", "BridgeId": "hold-1", "Application": "ConfBridge"}
    assert call_channel("op1001", [session, spy, caller]) == "PJSIP/op1001-00000009"


def test_a_prefix_of_another_operators_name_is_not_their_channel() -> None:
    """op10 is not on op1001's call: the channel name's dash ends the SIP user."""
    with pytest.raises(SpyRefusedError, match="'op10': not on a call"):
        call_channel("op10", [CALLER, OPERATOR])


@pytest.mark.parametrize(
    ("supervisor", "operator", "mode", "message", "field_name"),
    [
        (None, "op1001", "listen", "your account has no phone", "supervisor"),
        ("nobody", "op1001", "listen", "sip_user = 'nobody': no operator of the site", "supervisor"),
        ("op10", "op1001", "listen", "sip_user = 'op10': this phone is not marked supervisor", "supervisor"),
        ("sup2001", "ghost", "listen", "operator = 'ghost': no operator of the site", "operator"),
        ("sup2001", "sup2001", "listen", "operator = 'sup2001': this is your own phone", "operator"),
        ("sup2001", "op10", "listen", "operator = 'op10': not on a call", "operator"),
        ("sup2001", "op1001", "shout", "mode = 'shout': expected one of listen, whisper, barge", "mode"),
    ],
)
def test_refusals_name_what_is_wrong(
    supervisor: str | None, operator: str, mode: str, message: str, field_name: str
) -> None:
    """No phone, not a supervisor's phone, not an operator, one's own phone, no call, an unknown mode."""
    with pytest.raises(SpyRefusedError, match=message) as refused:
        plan_spy(SITE, supervisor, operator, mode, [CALLER, OPERATOR], "t")
    assert refused.value.field == field_name


async def test_start_spy_originates_once_after_checking_the_live_channels() -> None:
    """The checks pass on the live list: one Originate; an unregistered phone: refused, nothing sent."""
    ami = FakeAmi([CALLER, OPERATOR], [{"Device": "PJSIP/sup2001", "State": "NOT_INUSE"}])
    order = await start_spy(ami, SITE, "sup2001", "op1001", "barge")
    [(name, headers)] = ami.sent
    assert name == "Originate" and headers == order.originate() and headers["Data"].endswith(",qEB")
    away = FakeAmi([CALLER, OPERATOR], [{"Device": "PJSIP/sup2001", "State": "UNAVAILABLE"}])
    with pytest.raises(SpyRefusedError, match="your phone is not registered"):
        await start_spy(away, SITE, "sup2001", "op1001", "listen")
    assert away.sent == []


@dataclass
class FakePlatform:
    site: Site
    ami: FakeAmi


async def test_the_command_bus_knows_the_three_modes() -> None:
    """supervisor.listen / whisper / barge run start_spy with the command's arguments and return the order."""
    for mode in SpyMode:
        ami = FakeAmi([CALLER, OPERATOR])
        handler = HANDLERS[f"supervisor.{mode.value}"]
        result = await handler(FakePlatform(SITE, ami), Args({"supervisor": "sup2001", "operator": "op1001"}))  # type: ignore[arg-type]
        assert result["mode"] == mode.value and result["operator_channel"] == "PJSIP/op1001-00000002"
        assert [name for name, _ in ami.sent] == ["Originate"]
