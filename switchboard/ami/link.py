"""One AMI connection's bookkeeping: which answer belongs to which pending action (by ActionID), a list action's
items, and the late answers to actions we stopped waiting for, which are dropped. The client does the I/O.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field

from switchboard.ami.framing import AmiMessage, AmiParser
from switchboard.errors import AmiActionError, AmiDisconnectedError, AmiError

MAX_ABANDONED = 1024  # timed-out actions whose late answers we still expect, per link
Answer = tuple[AmiMessage, list[AmiMessage]]  # the response, a list action's items


@dataclass(eq=False)
class Pending:
    """An action sent on a link and not answered yet."""

    future: asyncio.Future[Answer]
    is_list: bool
    response: AmiMessage | None = None
    items: list[AmiMessage] = field(default_factory=list)

    def finish(self, outcome: Answer | AmiError) -> None:
        if self.future.done():
            return
        if isinstance(outcome, AmiError):
            self.future.set_exception(outcome)
        else:
            self.future.set_result(outcome)


class Link:
    """One TCP connection and everything that dies with it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = AmiParser()
        self.pending: dict[str, Pending] = {}
        # action id -> True while a list's items may still come: late answers are dropped
        self.abandoned: OrderedDict[str, bool] = OrderedDict()
        self.held: list[AmiMessage] = []  # events read before the up marker went out
        self.logged_in = self.announced = self.dead = False
        self.tasks: list[asyncio.Task[None]] = []

    def expect(self, action_id: str, is_list: bool) -> Pending:
        """Register an action about to be written; its answer will finish the returned ``Pending``."""
        pending = Pending(asyncio.get_running_loop().create_future(), is_list)
        self.pending[action_id] = pending
        return pending

    def give_up(self, action_id: str, is_list: bool) -> None:
        """The sender stopped waiting (answered, timed out, cancelled); an answer still to come is dropped."""
        if self.pending.pop(action_id, None) is not None and not self.dead:
            self.abandoned[action_id] = is_list
            while len(self.abandoned) > MAX_ABANDONED:
                self.abandoned.popitem(last=False)

    def fail_all(self, name: str, reason: str) -> None:
        """The connection is gone: every pending action fails; none is ever re-sent on another link."""
        for action_id, pending in self.pending.items():
            lost = f"{name}: link lost while {action_id} was pending: {reason}"
            pending.finish(AmiDisconnectedError(lost))
        self.pending.clear()
        self.abandoned.clear()
        self.held.clear()  # never announced: the consumer has no picture to apply them to

    def route(self, msg: AmiMessage) -> bool:
        """Give ``msg`` to the action it answers; False if it answers none."""
        action_id = msg.action_id
        if action_id is None:
            return False
        pending = self.pending.get(action_id)
        if pending is not None and self._answer(action_id, pending, msg):
            return True
        return action_id in self.abandoned and self._swallow_late(action_id, msg)

    def _answer(self, action_id: str, pending: Pending, msg: AmiMessage) -> bool:
        event_list = msg.get("EventList", "").lower()
        if msg.kind == "response" and pending.response is None:
            if msg.name.lower() == "error":
                del self.pending[action_id]
                text = msg.get("Message", "Response: Error")
                pending.finish(AmiActionError(text, response=msg))
            elif pending.is_list and event_list == "start":
                pending.response = msg  # the items follow, as events
            else:
                del self.pending[action_id]
                pending.finish((msg, []))
            return True
        if msg.kind == "event" and pending.is_list:
            if event_list == "complete":
                del self.pending[action_id]
                pending.finish((pending.response or msg, pending.items))
            else:
                pending.items.append(msg)
            return True
        return False  # e.g. an event that names a plain action: it belongs to the stream

    def _swallow_late(self, action_id: str, msg: AmiMessage) -> bool:
        listing = self.abandoned[action_id]
        event_list = msg.get("EventList", "").lower()
        if msg.kind == "response":
            if not (listing and msg.name.lower() != "error" and event_list == "start"):
                del self.abandoned[action_id]
            return True
        if listing and msg.kind == "event":
            if event_list == "complete":
                del self.abandoned[action_id]
            return True
        return False
