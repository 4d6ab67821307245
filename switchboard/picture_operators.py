"""The picture's operator desk: log in, log out, pause, unpause, and the wrap-up code keyed after a call.

A mixin of Picture (switchboard/picture.py), which holds the state; each change writes its queue_log lines.
"""

from __future__ import annotations

from acd import operators as ops
from acd import queue_log as qlog
from acd.model import Step
from acd.skills import holds
from acd.values import evolve
from asterisk_conf import variables
from switchboard.picture_state import PictureState


class OperatorDesk(PictureState):
    def _set(self, state: ops.OperatorState, now: float) -> None:
        self.operators[state.sip_user] = state
        self.index = self.index.updated(state.view(now))

    def queues_of(self, sip_user: str) -> list[str]:
        """The queues an operator can ever serve: every required skill held at the queue's widest step."""
        skills = self.operators[sip_user].skills
        return [name for name, rule in self.rules.items() if holds(skills, rule.requires, widest(rule.steps))]

    def login(self, sip_user: str, now: float, source: str = qlog.MANAGER) -> None:
        now = self._clock(now)
        state = self.operators[sip_user]
        if not state.logged_in:
            for queue in self.queues_of(sip_user):
                self.queue_log.append(qlog.add_member(now=now, queue=queue, agent=sip_user, source=source))
        self._set(ops.login(state, now), now)
        self.dispatch(now)

    def logout(self, sip_user: str, now: float, source: str = qlog.MANAGER) -> None:
        now = self._clock(now)
        state = self.operators[sip_user]
        if state.logged_in:
            for queue in self.queues_of(sip_user):
                self.queue_log.append(qlog.remove_member(now=now, queue=queue, agent=sip_user, source=source))
        self._set(ops.logout(state, now), now)

    def pause(self, sip_user: str, reason: str, now: float) -> None:
        now = self._clock(now)
        for queue in self.queues_of(sip_user):
            self.queue_log.append(qlog.pause(now=now, queue=queue, agent=sip_user, reason=reason))
        self._set(ops.pause(self.operators[sip_user], reason, now), now)

    def unpause(self, sip_user: str, now: float) -> None:
        now = self._clock(now)
        for queue in self.queues_of(sip_user):
            self.queue_log.append(qlog.unpause(now=now, queue=queue, agent=sip_user))
        self._set(ops.unpause(self.operators[sip_user], now), now)
        self.dispatch(now)

    def start_session(self, sip_user: str, channel: str, now: float, source: str = qlog.MANAGER) -> str:
        """The operator's phone joins their holding bridge (session mode); returns the bridge's name.

        Logs them in if they were not; their calls are bridged in at once from now on, without ringing.
        """
        now = self._clock(now)
        state = self.operators[sip_user]
        if not state.logged_in:
            for queue in self.queues_of(sip_user):
                self.queue_log.append(qlog.add_member(now=now, queue=queue, agent=sip_user, source=source))
        for old in [c for c, user in self.sessions.items() if user == sip_user]:
            del self.sessions[old]  # a second session replaces the first (the phone dropped it)
        self.sessions[channel] = sip_user
        self._set(ops.session_started(state, now), now)
        self.dispatch(now)
        return session_bridge(sip_user)

    def end_session(self, channel: str, now: float) -> None:
        """The session channel hung up: the operator is back in ring mode (still logged in)."""
        user = self.sessions.pop(channel, None)
        if user is None:
            return
        state = self.operators[user]
        if state.on_call is not None:  # they left mid-call: the bridge ends the caller's call too
            self.completed_by_agent.add(state.on_call)
        self._set(ops.session_ended(state, now), now)

    def operator_states(self, now: float) -> dict[str, str]:
        return {user: state.presence(now).value for user, state in self.operators.items()}

    def restore_session(self, sip_user: str, logged_in: bool, paused_reason: str | None, now: float) -> None:
        """After a restart: put back a login and a pause the previous process knew, writing no queue_log line."""
        state = self.operators.get(sip_user)
        if state is not None:
            self._set(evolve(state, logged_in=logged_in, paused_reason=paused_reason), now)

    def set_wrapup_code(self, sip_user: str, key: str) -> str | None:
        """The operator keyed what their last call was about: the code's name, or None for an unknown key.

        The code lands on the last call the operator ended (a later code replaces an earlier one), so analysts
        can count the frequent questions per queue.
        """
        record = self.last_call.get(sip_user)
        if record is None:
            return None
        try:
            code = self.site.queue(record.queue or "").wrapup_codes.get(key)
        except KeyError:
            return None
        if code is not None:
            record = evolve(record, wrapup_code=code)
            self.last_call[sip_user] = record
            self.dirty[record.id] = record
        return code


def session_bridge(sip_user: str) -> str:
    """The ConfBridge an operator holds in session mode (sip_user is from our config: a safe name)."""
    return f"{variables.SESSION_BRIDGE_PREFIX}{sip_user}"


def widest(steps: tuple[Step, ...]) -> int:
    """The lowest level widening ever asks (0 without steps): the steps may ask more than `requires` all along."""
    return min((step.min_level for step in steps), default=0)
