"""The command bus: the console and the CLI (separate processes) ask the running platform to act, over Redis.

A sender pushes a command (JSON: id, name, args, sender, sent_at, timeout_s) onto one Redis list and waits on the
command's own reply list; the platform's consumer pops it, runs its handler and pushes the reply, which expires.

Add a command (supervisor listen/whisper/barge, campaign start/pause/stop ...):
1. name it in switchboard/keys.py (`COMMAND_SUPERVISOR_LISTEN = "supervisor.listen"`);
2. write its handler anywhere: `async def listen(platform: Platform, args: Args) -> dict[str, Any]`, reading its
   arguments with `args.text("sip_user")` (a missing or bad one is refused, named) and raising a SwitchboardError
   (CommandRefusedError, or its own) to refuse; what it returns is the reply's `result` (JSON);
3. add one line to HANDLERS at the bottom of this file.
Send it with `await CommandBus(site.redis_url, sender="web:anna").send(keys.COMMAND_..., {...})`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from switchboard import keys
from switchboard.errors import CommandError, CommandRefusedError, CommandTimeoutError, SwitchboardError

if TYPE_CHECKING:
    from switchboard.platform import Platform

log = logging.getLogger("switchboard.commands")
COMMAND_TIMEOUT_S = 5.0  # how long a sender waits; a command older than its timeout when popped is dropped
MAX_TIMEOUT_S = 30.0
REPLY_GRACE_S = 1.0  # a command popped just before its deadline still gets its answer to a sender still waiting
REPLY_TTL_S = 60  # a reply nobody picked up (the sender gave up) disappears
POP_WAIT_S = 1.0  # the consumer's BLPOP: how late it notices that Redis came back
RETRY_S = 1.0  # after a Redis failure, the consumer tries again this much later
MAX_TEXT = 200


class BusRedis(Protocol):
    """What the bus needs of Redis (redis.asyncio.Redis with decode_responses=True; a fake in unit tests)."""

    async def rpush(self, name: str, *values: str) -> Any: ...
    async def blpop(self, keys: list[str], timeout: float) -> Any: ...
    async def lrem(self, name: str, count: int, value: str) -> Any: ...
    def pipeline(self, transaction: bool = True) -> Any: ...
    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Command:
    id: str
    name: str
    args: dict[str, Any]
    sender: str
    sent_at: float
    timeout_s: float = COMMAND_TIMEOUT_S

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Command:
        """A popped command; what cannot be read is refused naming the field (the id, when readable, to reply)."""
        try:
            data = json.loads(text)
        except ValueError:
            raise CommandRefusedError(f"command = {text[:80]!r}: not JSON") from None
        if not isinstance(data, dict):
            raise CommandRefusedError(f"command = {text[:80]!r}: not a JSON object")
        checks: tuple[tuple[str, type | tuple[type, ...]], ...] = (
            ("id", str), ("name", str), ("args", dict), ("sender", str), ("sent_at", (int, float)),
            ("timeout_s", (int, float)),
        )  # fmt: skip
        for name, kind in checks:
            value = data.get(name, COMMAND_TIMEOUT_S if name == "timeout_s" else None)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise CommandRefusedError(f"{name} = {value!r}: missing or of the wrong type", field=name)
        if not data["id"] or len(data["id"]) > 64:
            raise CommandRefusedError(f"id = {data['id']!r}: 1 to 64 characters", field="id")
        return cls(
            data["id"], data["name"], data["args"], data["sender"], float(data["sent_at"]), float(data["timeout_s"])
        )

    def expired(self, now: float) -> bool:
        """Its sender has given up waiting: running it now would surprise them."""
        return now - self.sent_at > self.timeout_s


@dataclass(frozen=True)
class Args:
    """A command's arguments, read by its handler; a missing or bad one is refused with its name."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self, name: str, *, optional: bool = False) -> str:
        value = self.values.get(name)
        if value is None and optional:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise CommandRefusedError(f"args.{name} = {value!r}: a text is required", field=name)
        if len(value) > MAX_TEXT or any(c in value for c in "\r\n\0"):
            raise CommandRefusedError(f"args.{name} = {value[:40]!r}: too long, or holds a line break", field=name)
        return value.strip()


Handler = Callable[["Platform", Args], Awaitable[dict[str, Any]]]


def _connect(redis_url: str, socket_timeout: float) -> BusRedis:
    """A connection whose socket timeout outlasts the longest BLPOP it makes (else redis-py gives up first)."""
    client = aioredis.from_url(
        redis_url, decode_responses=True, socket_connect_timeout=2, socket_timeout=socket_timeout
    )
    return cast(BusRedis, client)


# -- The sender's side ----------------------------------------------------------------------------------------------
class CommandBus:
    """Sends commands to the running platform and waits for each reply (one Redis connection per bus)."""

    def __init__(
        self, redis_url: str, *, sender: str, client: BusRedis | None = None, clock: Callable[[], float] = time.time
    ) -> None:
        self.redis_url = redis_url
        self.sender = sender
        self.clock = clock
        self.redis = client or _connect(redis_url, MAX_TIMEOUT_S + 5)

    async def send(
        self, name: str, args: Mapping[str, Any] | None = None, *, timeout_s: float = COMMAND_TIMEOUT_S
    ) -> dict[str, Any]:
        """The handler's result; CommandRefusedError when the platform refused, CommandTimeoutError for no answer."""
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise CommandError(f"timeout_s = {timeout_s!r}: more than 0 and at most {MAX_TIMEOUT_S:g}")
        command = Command(uuid.uuid4().hex, name, dict(args or {}), self.sender, self.clock(), timeout_s)
        text = command.to_json()
        try:
            await self.redis.rpush(keys.commands(), text)
            popped = await self.redis.blpop([keys.command_reply(command.id)], timeout=timeout_s + REPLY_GRACE_S)
            if popped is None:
                await self.redis.lrem(keys.commands(), 1, text)  # never run later, by a platform starting late
        except (RedisError, OSError) as exc:
            raise CommandError(f"redis_url = {self.redis_url!r}: cannot reach Redis to send {name}: {exc}") from None
        if popped is None:
            raise CommandTimeoutError(
                f"{name}: the platform did not answer within {timeout_s:g}s (is `switchboard run` running?)"
            )
        return _result(name, popped[1])

    async def close(self) -> None:
        await self.redis.aclose()


def _result(name: str, text: str) -> dict[str, Any]:
    try:
        reply = json.loads(text)
    except ValueError:
        raise CommandError(f"{name}: the platform's reply is not JSON: {text[:80]!r}") from None
    if not reply.get("ok"):
        raise CommandRefusedError(f"{name}: {reply.get('error')}", field=reply.get("field"))
    result: dict[str, Any] = reply.get("result") or {}
    return result


async def send(
    redis_url: str, name: str, args: Mapping[str, Any] | None = None, *, sender: str,
    timeout_s: float = COMMAND_TIMEOUT_S,
) -> dict[str, Any]:  # fmt: skip
    """One command on a bus of its own (the console's routes and the CLI send one at a time)."""
    bus = CommandBus(redis_url, sender=sender)
    try:
        return await bus.send(name, args, timeout_s=timeout_s)
    finally:
        await bus.close()


def send_sync(redis_url: str, name: str, args: Mapping[str, Any] | None = None, *, sender: str) -> dict[str, Any]:
    """send() for code without an event loop (the CLI)."""
    return asyncio.run(send(redis_url, name, args, sender=sender))


# -- The platform's side --------------------------------------------------------------------------------------------
class CommandConsumer:
    """Pops commands, runs their handlers in the platform's event loop, and replies; Redis outages are waited out."""

    def __init__(
        self,
        platform: Platform,
        redis_url: str,
        *,
        handlers: Mapping[str, Handler] | None = None,
        client: BusRedis | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.platform = platform
        self.handlers = HANDLERS if handlers is None else handlers
        self.clock = clock
        self.redis = client or _connect(redis_url, POP_WAIT_S + 5)
        self.handled = 0
        self.dropped = 0

    async def run(self) -> None:
        """Until cancelled (Platform.stop)."""
        healthy = True
        try:
            while True:
                try:
                    popped = await self.redis.blpop([keys.commands()], timeout=POP_WAIT_S)
                    if popped is not None:
                        await self.handle(popped[1])
                    healthy = True
                except (RedisError, OSError) as exc:
                    if healthy:
                        log.warning("command bus: Redis unavailable (%s); trying again every %.0fs", exc, RETRY_S)
                    healthy = False
                    await asyncio.sleep(RETRY_S)
        finally:
            await self.redis.aclose()

    async def handle(self, text: str) -> dict[str, Any] | None:
        """Run one popped command and push its reply; returns the reply (None: dropped, nobody to answer)."""
        try:
            command = Command.from_json(text)
        except CommandRefusedError as exc:
            command_id = _readable_id(text)
            log.warning("command bus: unreadable command dropped: %s", exc)
            if command_id is None:
                self.dropped += 1
                return None
            return await self._reply(command_id, {"ok": False, "error": str(exc), "field": exc.field})
        if command.expired(self.clock()):
            self.dropped += 1
            log.warning(
                "command %s from %s dropped: older than its %.0fs", command.name, command.sender, command.timeout_s
            )
            return None
        return await self._reply(command.id, await self._run(command))

    async def _run(self, command: Command) -> dict[str, Any]:
        handler = self.handlers.get(command.name)
        if handler is None:
            known = ", ".join(sorted(self.handlers))
            return {"ok": False, "error": f"name = {command.name!r}: no such command (known: {known})", "field": "name"}
        try:
            result = await handler(self.platform, Args(command.args))
        except SwitchboardError as exc:
            log.info("command %s from %s refused: %s", command.name, command.sender, exc)
            return {"ok": False, "error": str(exc), "field": getattr(exc, "field", None)}
        except Exception as exc:  # a handler's bug must not stop the bus; the sender hears of it
            log.exception("command %s from %s failed", command.name, command.sender)
            return {"ok": False, "error": f"the platform failed to run it: {type(exc).__name__}: {exc}"}
        log.info("command %s from %s done", command.name, command.sender)
        return {"ok": True, "result": result}

    async def _reply(self, command_id: str, reply: dict[str, Any]) -> dict[str, Any]:
        self.handled += 1
        key = keys.command_reply(command_id)
        pipe = self.redis.pipeline(transaction=True)
        pipe.rpush(key, json.dumps(reply, ensure_ascii=False, default=str))
        pipe.expire(key, REPLY_TTL_S)
        await pipe.execute()
        return reply


def _readable_id(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    command_id = data.get("id") if isinstance(data, dict) else None
    return command_id if isinstance(command_id, str) and 0 < len(command_id) <= 64 else None


# -- Operator commands: exactly what the phone's feature codes do (Platform.operator_command) ------------------------
def pause_reasons() -> dict[str, str]:
    """Pause reason code -> name, as the phone's *43X keys them."""
    from switchboard.platform import PAUSE_REASONS  # the platform imports this module: imported when needed

    return dict(PAUSE_REASONS)


def pause_code(reason: str) -> str:
    """A pause reason given by its code ("1") or its name ("lunch") as its code; else refused naming them all."""
    reasons = pause_reasons()
    if reason in reasons:
        return reason
    by_name = {name: code for code, name in reasons.items()}
    if reason.lower() in by_name:
        return by_name[reason.lower()]
    choices = ", ".join(f"{code} ({name})" for code, name in reasons.items())
    raise CommandRefusedError(f"args.reason = {reason!r}: not a pause reason; one of {choices}", field="reason")


def _operator(platform: Platform, args: Args) -> str:
    sip_user = args.text("sip_user")
    if sip_user not in platform.picture.operators:
        raise CommandRefusedError(f"args.sip_user = {sip_user!r}: no such operator on this site", field="sip_user")
    return sip_user


def operator_status(platform: Platform, sip_user: str) -> dict[str, Any]:
    now = platform.clock()
    state = platform.picture.operators[sip_user]
    return {
        "sip_user": sip_user,
        "state": state.presence(now).value,
        "logged_in": state.logged_in,
        "paused_reason": state.paused_reason,
        "session": state.session,
        "on_call": state.on_call,
    }


def _operator_action(action: str) -> Handler:
    async def handler(platform: Platform, args: Args) -> dict[str, Any]:
        sip_user = _operator(platform, args)
        code = pause_code(args.text("reason")) if action == "pause" else ""
        prompt = platform.operator_command(sip_user, action, code, platform.clock())
        return operator_status(platform, sip_user) | {"prompt": prompt}

    handler.__name__ = f"operator_{action}"
    return handler


async def operator_state(platform: Platform, args: Args) -> dict[str, Any]:
    return operator_status(platform, _operator(platform, args))


from switchboard.site_reload import reload_site  # noqa: E402  (the site file read again, live)
from switchboard.supervise import SpyMode, spy_handler  # noqa: E402  (listen / whisper / barge)

# Every command the platform answers: name (keys.py) -> handler. Add yours with one line.
HANDLERS: dict[str, Handler] = {
    keys.COMMAND_OPERATOR_LOGIN: _operator_action("login"),
    keys.COMMAND_OPERATOR_LOGOUT: _operator_action("logout"),
    keys.COMMAND_OPERATOR_PAUSE: _operator_action("pause"),
    keys.COMMAND_OPERATOR_UNPAUSE: _operator_action("unpause"),
    keys.COMMAND_OPERATOR_STATUS: operator_state,
    keys.COMMAND_SUPERVISOR_LISTEN: spy_handler(SpyMode.LISTEN),
    keys.COMMAND_SUPERVISOR_WHISPER: spy_handler(SpyMode.WHISPER),
    keys.COMMAND_SUPERVISOR_BARGE: spy_handler(SpyMode.BARGE),
    keys.COMMAND_SITE_RELOAD: reload_site,
}
