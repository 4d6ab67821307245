"""pjsua2 accounts and calls of the phone bank: an operator's softphone is one account and its calls.

Imported only inside the phone bank process; every method here runs on pjsip's worker thread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pjsua2 as pj

# pjsua puts the host's primary address in its SDP (this wheel's AccountConfig has no media
# bound address); the lab talks over loopback only, so the SDP we answer with says 127.0.0.1.
# Calls a softphone dials still offer the host address: pjsua2 offers no hook to change it.
_SDP_ADDRESS = re.compile(r"IN IP4 [^\s]+")


class BankHooks(Protocol):
    """What a softphone needs from the bank that owns it."""

    def emit(self, ev: str, **fields: object) -> None: ...

    def later(self, delay_s: float, job: Callable[[], object]) -> None: ...

    def report(self, where: str, exc: BaseException) -> None: ...

    def connect_audio(self, media: Any) -> None: ...

    def run_jobs(self) -> None: ...


@dataclass
class Behaviour:
    """How an operator's softphone treats a call that rings it."""

    auto_answer: bool = True
    answer_after_s: float = 0.5
    talk_s: float | None = None


class Softphone(pj.Account):
    """One operator's registered softphone; keeps its calls referenced until they end.

    Method names in camelCase are pjsua2's callbacks, overridden.
    """

    def __init__(self, hooks: BankHooks, user: str, behaviour: Behaviour) -> None:
        super().__init__()
        self.hooks = hooks
        self.user = user
        self.behaviour = behaviour
        self.calls: dict[str, PhoneCall] = {}

    def onRegState(self, prm: pj.OnRegStateParam) -> None:
        try:
            code = int(prm.code)
            if code // 100 != 2:
                event = "registration_failed"
            else:
                event = "registered" if prm.expiration > 0 else "unregistered"
            self.hooks.emit(event, user=self.user, code=code, reason=prm.reason)
        except Exception as exc:  # an escaping exception would abort the process
            self.hooks.report("onRegState", exc)

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        try:
            call = PhoneCall(self, prm.callId)
            info = call.info
            call.key = info.callIdString
            self.calls[call.key] = call
            self.hooks.emit("incoming", user=self.user, call_id=call.key, **{"from": info.remoteUri})
            ringing = pj.CallOpParam(True)
            ringing.statusCode = pj.StatusCode.RINGING
            call.answer(ringing)
            if self.behaviour.auto_answer:
                key = call.key
                self.hooks.later(self.behaviour.answer_after_s, lambda: self.answer(key))
        except Exception as exc:
            self.hooks.report("onIncomingCall", exc)

    def answer(self, key: str) -> None:
        """Answer a ringing call (a no-op if the caller gave up meanwhile)."""
        call = self.calls.get(key)
        if call is None or call.answered:
            return
        call.answered = True
        prm = pj.CallOpParam(True)
        prm.statusCode = pj.StatusCode.OK
        if call.answer_sdp:
            prm.sdp.wholeSdp = call.answer_sdp
        call.answer(prm)
        self.hooks.emit("answered", user=self.user, call_id=key)

    def hang_up(self, key: str | None = None) -> int:
        """Hang up one call, or all of them; returns how many were asked to end."""
        keys = [key] if key is not None else list(self.calls)
        count = 0
        for k in keys:
            call = self.calls.get(k)
            if call is not None and not call.ending:
                call.ending = True
                call.hangup(pj.CallOpParam(True))
                count += 1
        return count

    def dial(self, uri: str) -> str:
        """Place a call (operators dial feature codes); returns its SIP Call-ID."""
        call = PhoneCall(self)
        call.makeCall(uri, pj.CallOpParam(True))
        call.key = call.info.callIdString
        self.calls[call.key] = call
        self.hooks.emit("dialing", user=self.user, call_id=call.key, uri=uri)
        return call.key

    def send_dtmf(self, digits: str) -> str:
        """Send RFC 2833 digits on the operator's latest confirmed call."""
        for call in reversed(self.calls.values()):
            if call.confirmed and not call.ending:
                call.dialDtmf(digits)
                return call.key
        raise LookupError(f"{self.user} has no call in progress to send DTMF on")

    def forget(self, call: PhoneCall) -> None:
        """Drop an ended call; its C++ object goes with the last Python reference."""
        self.calls.pop(call.key, None)


class PhoneCall(pj.Call):
    """A call of a softphone; reports its states and hangs up after the operator's talk time."""

    def __init__(self, phone: Softphone, call_id: int = -1) -> None:
        super().__init__(phone, call_id)
        self.phone = phone
        self.key = ""
        self.answered = False
        self.confirmed = False
        self.ending = False
        self.answer_sdp = ""

    def onCallState(self, prm: pj.OnCallStateParam) -> None:
        try:
            info = self.info
            if info.state == pj.InvState.CONFIRMED:
                self._on_confirmed(info)
            elif info.state == pj.InvState.DISCONNECTED:
                self._on_disconnected(info)
        except Exception as exc:
            self.phone.hooks.report("onCallState", exc)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:
        try:
            for index, media in enumerate(self.info.media):
                active = media.status == pj.CallMediaStatus.ACTIVE
                if media.type == pj.MediaType.AUDIO and active:
                    self.phone.hooks.connect_audio(self.getAudioMedia(index))
        except Exception as exc:
            self.phone.hooks.report("onCallMediaState", exc)

    def onCallSdpCreated(self, prm: pj.OnCallSdpCreatedParam) -> None:
        try:
            # pybind11 hands us a copy of prm, so editing it here would change nothing:
            # keep a loopback version and answer with it (CallOpParam.sdp, see answer()).
            self.answer_sdp = _SDP_ADDRESS.sub("IN IP4 127.0.0.1", prm.sdp.wholeSdp)
        except Exception as exc:
            self.phone.hooks.report("onCallSdpCreated", exc)

    def _on_confirmed(self, info: pj.CallInfo) -> None:
        self.confirmed = True
        phone = self.phone
        phone.hooks.emit("confirmed", user=phone.user, call_id=self.key)
        talk_s = phone.behaviour.talk_s
        if talk_s is not None and info.role == pj.Role.UAS:
            key = self.key
            phone.hooks.later(talk_s, lambda: phone.hang_up(key))

    def _on_disconnected(self, info: pj.CallInfo) -> None:
        took = info.connectDuration
        duration_s = took.sec + took.msec / 1000 if self.confirmed else 0.0
        self.phone.hooks.emit(
            "disconnected",
            user=self.phone.user,
            call_id=self.key,
            duration_s=round(duration_s, 3),
            code=int(info.lastStatusCode),
            reason=info.lastReason,
        )
        # Dropped here, inside its own DISCONNECTED callback, as pjsua2 allows: dropped any
        # later, pjsua2's ~Call would hang up whichever new call reused this pjsua call slot.
        self.phone.forget(self)


class DoorbellAccount(pj.Account):
    """The bank's own account: each ring of the doorbell runs the queued jobs on this thread."""

    def __init__(self, hooks: BankHooks) -> None:
        super().__init__()
        self.hooks = hooks

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:
        try:
            self.hooks.run_jobs()
        except Exception as exc:
            self.hooks.report("doorbell", exc)
        # No Call object is made for the ring, so pjsua2 refuses it (500) by itself.
