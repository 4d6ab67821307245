"""The picture rebuilt after an AMI (re)connect: phones from DeviceStateList, live calls from CoreShowChannels, and
for a new process the open call records from SQL. A mixin of Picture (switchboard/picture.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from acd import stats
from acd.values import evolve
from switchboard.picture_moves import TIMED_OUT
from switchboard.picture_state import PictureState
from switchboard.store.calls import CallRecord


class Rebuild(PictureState):
    def rebuild(
        self,
        phone_states: dict[str, str],
        live_uniqueids: set[str],
        open_records: Iterable[CallRecord],
        now: float,
        *,
        listed_at: float | None = None,
        sessions: dict[str, str] | None = None,
    ) -> list[CallRecord]:
        """Reset from DeviceStateList, CoreShowChannels and the open SQL records; returns the records closed.

        Only a picture never built adopts the open SQL records (a new process learns its calls there); afterwards
        SQL lags the picture. Calls routed at or after `listed_at` (when the channels were listed) are kept.
        `sessions` (channel -> operator) are the phones found in their holding bridge: session mode goes on.
        """
        now = self._clock(now)
        for sip_user, state in self.operators.items():
            self._set(evolve(state, phone_state=phone_states.get(sip_user, "UNAVAILABLE"), offered_call=None), now)
        adopted = set()
        if not self.built:
            for record in open_records:
                if record.uniqueid not in self.calls:
                    self._adopt(record)
                    adopted.add(record.uniqueid)  # ringing as far as we know: a requeue or its DialEnd settles it
            self.built = True
        for channel in [c for c in self.sessions if c not in live_uniqueids]:
            self.end_session(channel, now)  # the holding bridge went while we could not see it
        for channel, user in (sessions or {}).items():
            if channel not in self.sessions and user in self.operators:
                self.sessions[channel] = user
                self._set(evolve(self.operators[user], session=True), now)
        gone = []
        for uniqueid, record in list(self.calls.items()):
            listed = listed_at is None or record.started_at < listed_at
            if listed and uniqueid not in live_uniqueids:
                gone.append(record)
            elif record.outcome is None and (uniqueid in self.offered_at or uniqueid in adopted):
                rung = self.operators.get(record.operator or "")
                if rung is not None:
                    self._set(evolve(rung, offered_call=uniqueid), now)  # still ringing
            elif uniqueid in adopted and record.answered_at is not None:
                talking = self.operators.get(record.operator or "")
                if talking is not None:  # on it still: busy, and wrap-up follows when it ends
                    self._set(evolve(talking, on_call=uniqueid), now)
        for agent in [a for a in self.agent_channels if a not in live_uniqueids]:
            del self.agent_channels[agent]  # operator legs that ended unseen
        # Closing frees operators and dispatches: only once the operators still ringing are marked so.
        # The calls ended while we could not see them: closed with the time we learned of it.
        closed = [self.end_call(record, now, None) for record in gone]
        self.dispatch(now)
        return closed

    def _adopt(self, record: CallRecord) -> None:
        """A call routed by an earlier process: counted and tallied here too, so the figures still add up."""
        self.calls[record.uniqueid] = record
        self.counters["offered"] += 1
        if record.outcome in self.counters:
            self.counters[record.outcome] += 1
        if record.queue in self.tallies:
            tally = stats.offered(self.tallies[record.queue])
            if record.answered_at is not None:
                sl = self.rules[record.queue].sl_seconds
                tally = stats.answered(tally, record.answered_at - record.started_at, sl)
            elif record.outcome in TIMED_OUT:
                tally = stats.timed_out(tally)
            self.tallies[record.queue] = tally
