"""What the picture's parts share: the state Picture (switchboard/picture.py) holds, and the steps one part calls
in another. The operator desk, the call moves and the rebuild are mixins of Picture built on this.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from acd import operators as ops
from acd import queue_log as qlog
from acd import stats
from acd.index import OperatorIndex
from acd.model import CallView, QueueRule
from switchboard.config import Site
from switchboard.store.calls import CallRecord

if TYPE_CHECKING:
    from switchboard.picture import Arrival, Waiter
    from switchboard.picture_moves import CallbackRequest


class PictureState:
    site: Site
    operators: dict[str, ops.OperatorState]
    index: OperatorIndex
    rules: dict[str, QueueRule]
    calls: dict[str, CallRecord]  # by the caller channel's uniqueid
    waiting: dict[str, Waiter]  # by call id
    counters: dict[str, int]
    tallies: dict[str, stats.QueueTally]
    queue_log: list[qlog.QueueLogEntry]
    dirty: dict[str, CallRecord]
    built: bool
    recordings_dir: str
    offered_at: dict[str, float]  # caller uniqueid -> when the operator's phone started ringing
    original_positions: dict[str, int]
    agent_channels: dict[str, str]  # operator channel uniqueid -> caller uniqueid
    completed_by_agent: set[str]  # caller uniqueids whose operator hung up first
    last_call: dict[str, CallRecord]  # the last call each operator ended: where a wrap-up code goes
    sessions: dict[str, str]  # session-mode channel uniqueid -> its operator
    targets: dict[str, str]  # caller uniqueid -> the operator a call was transferred to by name
    callback_requests: list[CallbackRequest]  # drained by the shell into SQL

    if TYPE_CHECKING:

        def _clock(self, at: float) -> float: ...
        def _set(self, state: ops.OperatorState, now: float) -> None: ...
        def _keep(self, record: CallRecord) -> None: ...
        def _forget_waiting(self, call_id: str) -> None: ...
        def _enter(
            self,
            uniqueid: str,
            caller: str,
            hotline: str,
            call: CallView,
            now: float,
            recording: str | None = None,
            direction: str = "inbound",
        ) -> Arrival: ...
        def dispatch(self, now: float) -> None: ...
        def position(self, uniqueid: str) -> int: ...
        def route_call(self, uniqueid: str, caller: str, hotline: str, now: float, choice: str = "") -> Arrival: ...
        def end_session(self, channel: str, now: float) -> None: ...
        def end_call(
            self,
            record: CallRecord,
            at: float,
            cause: int | None,
            transferred_to: str | None = None,
            extension: str = "",
        ) -> CallRecord: ...
