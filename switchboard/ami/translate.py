"""Turn raw AMI messages into our events; raw AMI names (Uniqueid, DeviceStateChange) stop here.

Pure: a message in, zero or one event out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from asterisk_conf.variables import SESSION_BRIDGE_PREFIX
from switchboard.events import (
    CallerHungUp,
    Event,
    OperatorAnswered,
    OperatorMissed,
    OriginateFailed,
    PhoneStateChanged,
)

PJSIP_PREFIX = "PJSIP/"


def event_time(msg: Mapping[str, str], default: float) -> float:
    """Asterisk's own Timestamp header (timestampevents=yes), else the time we read the message."""
    try:
        return float(msg.get("Timestamp") or default)
    except ValueError:
        return default


def dialed_operator(channel: str) -> str:
    """'PJSIP/op1001-0000002a' -> 'op1001': which phone a DialEnd is about, so a late one is not misapplied."""
    if not channel.startswith(PJSIP_PREFIX):
        return ""
    return channel[len(PJSIP_PREFIX) :].rsplit("-", 1)[0]


def translate(msg: Mapping[str, str], now: float) -> Event | None:
    name = msg.get("Event")
    at = event_time(msg, now)
    if name == "DeviceStateChange":
        device = msg.get("Device") or ""
        if device.startswith(PJSIP_PREFIX) and "/" not in device[len(PJSIP_PREFIX) :]:
            return PhoneStateChanged(device[len(PJSIP_PREFIX) :], msg.get("State") or "UNKNOWN", at)
        return None
    if name == "DialEnd":
        uniqueid = msg.get("Uniqueid") or ""
        status = msg.get("DialStatus") or ""
        if not uniqueid:
            return None
        operator = dialed_operator(msg.get("DestChannel") or "")
        if status == "ANSWER":
            return OperatorAnswered(uniqueid, at, msg.get("DestUniqueid") or "", operator)
        return OperatorMissed(uniqueid, status, at, operator)
    if name == "ConfbridgeJoin":  # session mode: a caller bridged in to an operator's holding bridge is answered
        conference = msg.get("Conference") or ""
        if not conference.startswith(SESSION_BRIDGE_PREFIX):
            return None
        return OperatorAnswered(msg.get("Uniqueid") or "", at, "", conference[len(SESSION_BRIDGE_PREFIX) :])
    if name == "OriginateResponse" and msg.get("Response") == "Failure":
        try:
            reason = int(msg.get("Reason") or 0)
        except ValueError:
            reason = 0
        uniqueid = msg.get("Uniqueid") or ""
        return OriginateFailed("" if uniqueid == "<null>" else uniqueid, msg.get("Channel") or "", reason, at)
    if name == "Hangup":
        try:
            cause = int(msg.get("Cause") or 0)
        except ValueError:
            cause = 0
        return CallerHungUp(msg.get("Uniqueid") or "", cause, at)
    return None


def sessions_in(channels: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """From CoreShowChannels: the operators' phones in their holding bridge (session mode), uniqueid -> SIP user.

    After a restart the new process learns from this who is in session mode: the bridge outlives the process.
    """
    found = {}
    for item in channels:
        user = dialed_operator(item.get("Channel") or "")
        data = item.get("ApplicationData") or ""
        if user and item.get("Application") == "ConfBridge" and data.startswith(SESSION_BRIDGE_PREFIX + user + ","):
            found[item.get("Uniqueid") or ""] = user
    return found
