"""The command bus (switchboard/commands.py) over an in-memory Redis: a command reaches its handler and the reply its
sender; unknown commands, bad arguments and stale commands are refused or dropped as documented."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from acd.operators import OperatorState
from switchboard import keys
from switchboard.commands import (
    HANDLERS,
    REPLY_TTL_S,
    Args,
    Command,
    CommandBus,
    CommandConsumer,
    pause_code,
)
from switchboard.errors import CommandError, CommandRefusedError, CommandTimeoutError, SwitchboardError


class FakeRedis:
    """The lists, BLPOP, LREM, EXPIRE and pipelines the bus uses, in memory; BLPOP really waits."""

    def __init__(self) -> None:
        self.lists: dict[str, list[str]] = defaultdict(list)
        self.ttl: dict[str, int] = {}
        self.changed = asyncio.Condition()
        self.closed = False

    async def rpush(self, name: str, *values: str) -> int:
        async with self.changed:
            self.lists[name].extend(values)
            self.changed.notify_all()
        return len(self.lists[name])

    async def blpop(self, keys: list[str], timeout: float) -> list[str] | None:
        def first() -> list[str] | None:
            return next(([k, self.lists[k].pop(0)] for k in keys if self.lists.get(k)), None)

        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: first_ready(keys, self.lists)), timeout)
            except TimeoutError:
                return None
            return first()

    async def lrem(self, name: str, count: int, value: str) -> int:
        if value in self.lists[name]:
            self.lists[name].remove(value)
            return 1
        return 0

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self)

    async def aclose(self) -> None:
        self.closed = True


def first_ready(keys: list[str], lists: dict[str, list[str]]) -> bool:
    return any(lists.get(k) for k in keys)


@dataclass
class FakePipeline:
    redis: FakeRedis
    steps: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    def rpush(self, name: str, value: str) -> None:
        self.steps.append(("rpush", (name, value)))

    def expire(self, name: str, seconds: int) -> None:
        self.steps.append(("expire", (name, seconds)))

    async def execute(self) -> None:
        for step, args in self.steps:
            if step == "rpush":
                await self.redis.rpush(*args)
            else:
                self.redis.ttl[args[0]] = args[1]


@dataclass
class FakePicture:
    operators: dict[str, OperatorState]


class FakePlatform:
    """Platform.operator_command as the phone's feature codes run it, recorded."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.picture = FakePicture({"op1001": OperatorState("op1001", {}, logged_in=False, phone_state="NOT_INUSE")})
        self.commands: list[tuple[str, str, str, float]] = []

    def clock(self) -> float:
        return self.now

    def operator_command(self, sip_user: str, command: str, reason_code: str, now: float) -> str:
        self.commands.append((sip_user, command, reason_code, now))
        state = self.picture.operators[sip_user]
        if command == "login":
            state = OperatorState(sip_user, {}, logged_in=True, phone_state="NOT_INUSE")
        elif command == "pause":
            state = OperatorState(sip_user, {}, logged_in=True, phone_state="NOT_INUSE", paused_reason="lunch")
        self.picture.operators[sip_user] = state
        return "agent-loginok"


@contextmanager
def bus_pair(platform: Any = None, **consumer: Any) -> Iterator[tuple[CommandBus, CommandConsumer, FakeRedis]]:
    redis = FakeRedis()
    sender = CommandBus("redis://fake", sender="test", client=redis, clock=lambda: 1_000.0)
    taker = CommandConsumer(platform or FakePlatform(), "redis://fake", client=redis, clock=lambda: 1_000.0, **consumer)
    yield sender, taker, redis


async def serving(consumer: CommandConsumer) -> asyncio.Task[None]:
    return asyncio.create_task(consumer.run())


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_login_sent_on_the_bus_runs_the_phones_operator_command_and_replies_with_the_state() -> None:
    """Given a consumer, when the console sends operator.login, then the platform ran operator_command('login')
    and the sender gets the operator's new state."""
    platform = FakePlatform()
    with bus_pair(platform) as (sender, consumer, redis):
        task = await serving(consumer)
        result = await sender.send(keys.COMMAND_OPERATOR_LOGIN, {"sip_user": "op1001"})
        await stop(task)
    assert platform.commands == [("op1001", "login", "", 1_000.0)]
    assert result["state"] == "available" and result["logged_in"] is True and result["sip_user"] == "op1001"
    assert redis.closed  # the consumer closes its connection when stopped


async def test_a_pause_by_code_or_name_passes_the_phones_reason_digit() -> None:
    """Given a pause by name ('lunch') and one by its digit ('1'), then both reach operator_command as '1'."""
    platform = FakePlatform()
    with bus_pair(platform) as (sender, consumer, _):
        task = await serving(consumer)
        await sender.send(keys.COMMAND_OPERATOR_PAUSE, {"sip_user": "op1001", "reason": "lunch"})
        done = await sender.send(keys.COMMAND_OPERATOR_PAUSE, {"sip_user": "op1001", "reason": "1"})
        await stop(task)
    assert [c[2] for c in platform.commands] == ["1", "1"]
    assert done["state"] == "paused" and done["paused_reason"] == "lunch"


@pytest.mark.parametrize(
    ("name", "args", "field", "words"),
    [
        ("operator.dance", {"sip_user": "op1001"}, "name", "no such command"),
        (keys.COMMAND_OPERATOR_LOGIN, {}, "sip_user", "args.sip_user = None"),
        (keys.COMMAND_OPERATOR_LOGIN, {"sip_user": "op9999"}, "sip_user", "no such operator"),
        (keys.COMMAND_OPERATOR_PAUSE, {"sip_user": "op1001", "reason": "nap"}, "reason", "1 (lunch)"),
        (keys.COMMAND_OPERATOR_PAUSE, {"sip_user": "op1001", "reason": 7}, "reason", "a text is required"),
        (keys.COMMAND_OPERATOR_LOGIN, {"sip_user": "op1001\r\nAction: Originate"}, "sip_user", "line break"),
    ],
)
async def test_unknown_commands_and_bad_arguments_are_refused_naming_the_field(
    name: str, args: dict[str, Any], field: str, words: str
) -> None:
    """Given a bad command, then the sender gets a CommandRefusedError naming the field, and nothing was run."""
    platform = FakePlatform()
    with bus_pair(platform) as (sender, consumer, _):
        task = await serving(consumer)
        with pytest.raises(CommandRefusedError) as refused:
            await sender.send(name, args)
        await stop(task)
    assert refused.value.field == field and words in str(refused.value)
    assert platform.commands == []


async def test_a_command_older_than_its_timeout_is_dropped_unrun() -> None:
    """Given a command sent 6 s before it is popped (timeout 5 s), then it is dropped: no handler, no reply."""
    platform = FakePlatform(now=1_006.0)
    with bus_pair(platform) as (_, consumer, redis):
        consumer.clock = platform.clock
        stale = Command("abc", keys.COMMAND_OPERATOR_LOGIN, {"sip_user": "op1001"}, "cli", 1_000.0, 5.0)
        assert await consumer.handle(stale.to_json()) is None
    assert platform.commands == [] and consumer.dropped == 1
    assert not redis.lists.get(keys.command_reply("abc"))


async def test_nobody_answering_is_a_timeout_and_the_command_is_taken_back() -> None:
    """Given no platform consuming, when a command is sent with a short timeout, then CommandTimeoutError names the
    command, and the command is removed from the list so a platform starting later never runs it."""
    redis = FakeRedis()
    sender = CommandBus("redis://fake", sender="cli", client=redis)
    with pytest.raises(CommandTimeoutError, match=r"operator\.login: the platform did not answer"):
        await sender.send(keys.COMMAND_OPERATOR_LOGIN, {"sip_user": "op1001"}, timeout_s=0.05)
    assert redis.lists[keys.commands()] == []


async def test_replies_expire_and_carry_the_command_id() -> None:
    """Given a handled command, then its reply is on its own key, with an expiry."""
    with bus_pair() as (_, consumer, redis):
        command = Command("id-1", keys.COMMAND_OPERATOR_STATUS, {"sip_user": "op1001"}, "web:anna", 1_000.0)
        reply = await consumer.handle(command.to_json())
    assert reply is not None and reply["ok"] and reply["result"]["state"] == "logged_out"
    assert json.loads(redis.lists[keys.command_reply("id-1")][0]) == reply
    assert redis.ttl[keys.command_reply("id-1")] == REPLY_TTL_S


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"id": "x", "name": "operator.login", "args": [], "sender": "s", "sent_at": 1}', "args = []"),
        ('{"id": "x", "name": "operator.login", "args": {}, "sender": "s", "sent_at": true}', "sent_at = True"),
    ],
)
def test_unreadable_commands_are_refused_naming_the_field(text: str, words: str) -> None:
    """A command that is not the bus's JSON object is refused with the field at fault."""
    with pytest.raises(CommandRefusedError, match=words.replace("[", r"\[").replace("]", r"\]")):
        Command.from_json(text)


async def test_an_unreadable_command_with_an_id_gets_an_error_reply_and_one_without_is_dropped() -> None:
    """A command whose id can be read is answered with the error; one without an id is dropped."""
    with bus_pair() as (_, consumer, redis):
        reply = await consumer.handle('{"id": "x1", "name": 5}')
        assert await consumer.handle("garbage") is None
    assert reply is not None and not reply["ok"] and reply["field"] == "name"
    assert redis.lists[keys.command_reply("x1")]


async def test_a_handler_that_fails_does_not_stop_the_bus() -> None:
    """Given a handler raising an unexpected error, then its sender hears of it and the next command still runs."""

    async def broken(platform: Any, args: Args) -> dict[str, Any]:
        raise RuntimeError("oops")

    handlers = dict(HANDLERS) | {"test.broken": broken}
    with bus_pair(handlers=handlers) as (sender, consumer, _):
        task = await serving(consumer)
        with pytest.raises(CommandRefusedError, match="RuntimeError: oops"):
            await sender.send("test.broken")
        assert (await sender.send(keys.COMMAND_OPERATOR_STATUS, {"sip_user": "op1001"}))["sip_user"] == "op1001"
        await stop(task)


async def test_a_handler_refusing_with_its_own_switchboard_error_reaches_the_sender() -> None:
    """A handler may refuse with any SwitchboardError; the sender gets its message."""

    async def picky(platform: Any, args: Args) -> dict[str, Any]:
        raise SwitchboardError(f"operator = {args.text('sip_user')!r}: not on a call")

    with bus_pair(handlers={"supervisor.listen": picky}) as (sender, consumer, _):
        task = await serving(consumer)
        with pytest.raises(CommandRefusedError, match=r"supervisor\.listen: operator = 'op1001': not on a call"):
            await sender.send("supervisor.listen", {"sip_user": "op1001"})
        await stop(task)


async def test_a_timeout_out_of_range_is_refused_before_sending() -> None:
    """A sender's timeout must be more than 0 and at most 30 s."""
    redis = FakeRedis()
    with pytest.raises(CommandError, match="timeout_s = 0"):
        await CommandBus("redis://fake", sender="cli", client=redis).send("x", timeout_s=0)
    assert not redis.lists[keys.commands()]


def test_pause_reasons_are_the_phones_digits_or_names() -> None:
    """pause_code accepts the digit or the name (any case) of a phone's pause reason."""
    assert pause_code("2") == "2" and pause_code("Training") == "2"
    with pytest.raises(CommandRefusedError, match="'0': not a pause reason"):
        pause_code("0")
