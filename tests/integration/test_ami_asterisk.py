"""The AMI client against a real Asterisk 16 started from the rendered configs by the lab helpers.

Login and permissions, simple and list actions, a frozen and a killed Asterisk, CR/LF refusal, hostile values.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from asterisk_conf import variables
from switchboard.ami import AmiClient, AmiEvent, AmiMessage, ConnectionChange
from switchboard.errors import (
    AmiActionError,
    AmiDisconnectedError,
    AmiLoginError,
    UnsafeHeaderError,
)
from switchboard.lab.asterisk import AsteriskProcess
from switchboard.lab.site import write_lab_site

ClientFactory = Callable[..., Awaitable[AmiClient]]

# A channel for a few seconds: the Local channel's ;2 half plays the fail prompt (about 2 s) then hangs up,
# its ;1 half runs the Originate's application.
FAIL_LOCAL = f"Local/{variables.FAIL_EXTEN}@{variables.CTX_FAIL}"
# the last two would expand to something else if Asterisk ever evaluated a value (func_channel is loaded)
HOSTILE_VALUES = ['"', ";", "&", "|", "`", "$(id)", "${SHELL(id)}", "${CHANNEL(name)}", "$[1+1]"]
_channel_ids = itertools.count(1)


@pytest_asyncio.fixture(scope="module")
async def asterisk(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[AsteriskProcess]:
    """One real Asterisk for the module; stopped afterwards, with a check that none of its processes is left."""
    folder = tmp_path_factory.mktemp("ami")
    _, site = write_lab_site(folder)
    async with AsteriskProcess(site, folder / "asterisk") as process:
        assert process.proc is not None
        group = process.proc.pid
        try:
            yield process
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGCONT)  # a test that failed half-way must not leave it frozen
    assert not process.running
    assert not _group_alive(group), f"Asterisk process group {group} still alive after stop"


@pytest_asyncio.fixture(autouse=True)
async def no_channel_left(asterisk: AsteriskProcess, request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Marks the test in Asterisk's log; fails it if it left a channel behind (then hangs them all up)."""
    _mark(asterisk, f"START {request.node.nodeid}")
    yield
    _mark(asterisk, f"END {request.node.nodeid}")
    left = await _cli_channels(asterisk)
    for _ in range(30):
        if not left:
            return
        await asyncio.sleep(0.1)
        left = await _cli_channels(asterisk)
    await asterisk.cli("channel request hangup all", check=False)
    pytest.fail(f"channels left behind: {left}")


@pytest_asyncio.fixture
async def new_client(asterisk: AsteriskProcess) -> AsyncIterator[ClientFactory]:
    """Makes AMI clients (the runtime user unless told), connected unless told; closes them all after the test."""
    made: list[AmiClient] = []

    async def make(
        user: str | None = None,
        secret: str | None = None,
        *,
        port: int | None = None,
        connect: bool = True,
        **options: Any,
    ) -> AmiClient:
        site = asterisk.site
        client = AmiClient(
            str(site.asterisk.host),
            port or site.asterisk.ami_port,
            user or site.ami.user,
            secret or site.ami.secret,
            name=f"it{len(made) + 1}",
            **options,
        )
        made.append(client)
        if connect:
            await client.connect()
        return client

    yield make
    for client in made:
        await client.close()


class WireTap:
    """A TCP relay between a client and Asterisk that keeps every byte the client sent: what really hit the wire.

    When Asterisk's side ends, the client's side is cut, as a dead Asterisk would do.
    """

    def __init__(self, host: str, port: int) -> None:
        self.sent = bytearray()
        self.port = 0
        self._upstream = (host, port)
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self._relays: set[asyncio.Future[Any]] = set()
        self._grew = asyncio.Event()

    async def __aenter__(self) -> WireTap:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await asyncio.gather(*self._relays, return_exceptions=True)

    def count(self, text: str) -> int:
        return self.sent.count(text.encode())

    async def wait_sent(self, text: str, timeout: float = 3.0) -> None:
        """Wait until the client has sent ``text``."""
        async with asyncio.timeout(timeout):
            while not self.count(text):
                self._grew.clear()
                await self._grew.wait()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        except OSError:
            writer.transport.abort()  # Asterisk is down: refuse, as it would
            return
        self._writers.append(up_writer)
        relay = asyncio.gather(self._pump(reader, up_writer, record=True), self._pump(up_reader, writer))
        self._relays.add(relay)
        await relay

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, record: bool = False) -> None:
        try:
            while data := await reader.read(65536):
                if record:
                    self.sent += data
                    self._grew.set()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()


async def test_login_gives_the_banner_and_fully_booted_follows_the_up_marker(new_client: ClientFactory) -> None:
    """The runtime user logs in; the banner is AMI 5.0.x; the up marker then FullyBooted come on the events stream."""
    client = await new_client()
    assert client.connected
    assert client.banner is not None
    assert re.fullmatch(r"Asterisk Call Manager/5\.0\.\d+", client.banner)
    events = client.events()
    assert await _next(events) == ConnectionChange(up=True, reason="connected")
    booted = await _next_event(events, "FullyBooted")
    assert booted["Status"] == "Fully Booted"


async def test_a_bad_secret_is_refused_with_a_login_error(new_client: ClientFactory, asterisk: AsteriskProcess) -> None:
    """A wrong secret raises AmiLoginError from connect() and leaves the client down."""
    client = await new_client(asterisk.site.ami.user, "not-the-secret", connect=False)
    with pytest.raises(AmiLoginError, match="Authentication failed"):
        await client.connect()
    assert not client.connected


async def test_the_runtime_user_is_refused_the_command_action(new_client: ClientFactory) -> None:
    """The runtime user has no command write permission: Command answers Error, permission denied."""
    client = await new_client()
    with pytest.raises(AmiActionError, match="Permission denied") as refused:
        await client.action("Command", {"Command": "core show version"})
    response = refused.value.response
    assert isinstance(response, AmiMessage)
    assert response.name == "Error"
    assert (await client.action("Ping"))["Ping"] == "Pong"  # a refusal does not hurt the link


async def test_the_admin_user_is_refused_originate(new_client: ClientFactory, asterisk: AsteriskProcess) -> None:
    """The admin user (write=config) may not Originate: permission denied, no channel."""
    site = asterisk.site
    admin = await new_client(site.ami.admin_user, site.ami.admin_secret)
    with pytest.raises(AmiActionError, match="Permission denied"):
        await admin.action("Originate", _originate_headers("sb-admin-refused"))
    runtime = await new_client()
    assert await runtime.list_action("CoreShowChannels") == []


async def test_simple_actions_answer(new_client: ClientFactory, asterisk: AsteriskProcess) -> None:
    """Ping, CoreSettings and Getvar of a dialplan global give their responses."""
    client = await new_client()
    assert (await client.action("Ping"))["Ping"] == "Pong"
    settings = await client.action("CoreSettings")
    assert settings["AMIversion"].startswith("5.0.")
    assert settings["AsteriskVersion"].startswith("16.")
    agi = await client.action("Getvar", {"Variable": "SWITCHBOARD_AGI"})
    fastagi = asterisk.site.fastagi
    assert agi["Value"] == f"agi://{fastagi.host}:{fastagi.port}"


async def test_core_show_channels_with_no_channel_is_an_empty_list(new_client: ClientFactory) -> None:
    """CoreShowChannels on an idle Asterisk gives no items."""
    client = await new_client()
    assert await client.list_action("CoreShowChannels") == []


async def test_core_show_channels_lists_a_live_originated_channel(new_client: ClientFactory) -> None:
    """A Local channel originated into Wait shows in CoreShowChannels, both halves; gone after Hangup."""
    client = await new_client()
    channel_id = _new_channel_id()
    async with _live_channel(client, channel_id):
        channels = {item["Uniqueid"]: item for item in await client.list_action("CoreShowChannels")}
        assert channel_id in channels
        ours = channels[channel_id]
        assert ours["Channel"].startswith(f"{FAIL_LOCAL}-")
        assert ours["Channel"].endswith(";1")
        assert ours["Application"] == "Wait"
        assert channels[f"{channel_id}-2"]["Context"] == variables.CTX_FAIL
    assert await client.list_action("CoreShowChannels") == []


async def test_device_state_list_gives_unregistered_operators_as_unavailable(
    new_client: ClientFactory, asterisk: AsteriskProcess
) -> None:
    """DeviceStateList lists every operator's PJSIP device, UNAVAILABLE since no phone registered."""
    client = await new_client()
    states = {item["Device"]: item["State"] for item in await client.list_action("DeviceStateList")}
    operators = {device: state for device, state in states.items() if device.startswith("PJSIP/op")}
    assert operators == {f"PJSIP/{op.sip_user}": "UNAVAILABLE" for op in asterisk.site.operators}


async def test_a_frozen_asterisk_is_noticed_by_the_ping_and_the_client_comes_back(
    new_client: ClientFactory, asterisk: AsteriskProcess
) -> None:
    """SIGSTOP: the unanswered ping drops the link and fails the pending action; after SIGCONT it reconnects."""
    client = await new_client(ping_interval=0.2, ping_timeout=0.5, connect_timeout=1.0, backoff_max=0.5)
    events = client.events()
    assert await _next_change(events) == ConnectionChange(up=True, reason="connected")
    assert asterisk.proc is not None
    group = asterisk.proc.pid
    try:
        await _freeze(group)
        with pytest.raises(AmiDisconnectedError):
            await client.action("CoreSettings", timeout=10)
        down = await _next_change(events)
        assert not down.up
        assert "Ping" in down.reason
        assert not client.connected
    finally:
        os.killpg(group, signal.SIGCONT)
    assert await _next_change(events, timeout=10) == ConnectionChange(up=True, reason="reconnected")
    assert (await client.action("Ping"))["Ping"] == "Pong"


async def test_unsafe_header_values_are_refused_before_any_byte_is_written(
    new_client: ClientFactory, asterisk: AsteriskProcess
) -> None:
    """A CR/LF in an Originate's Variable or CallerID raises UnsafeHeaderError; nothing is sent, no channel made."""
    site = asterisk.site
    injected = "x\r\nAction: Command\r\nCommand: core stop now\r\n\r\n"
    async with WireTap(str(site.asterisk.host), site.asterisk.ami_port) as tap:
        client = await new_client(port=tap.port)
        for unsafe in ({"Variable": f"X={injected}"}, {"CallerID": injected}):
            before = len(tap.sent)
            with pytest.raises(UnsafeHeaderError):
                await client.action("Originate", {**_originate_headers(_new_channel_id()), **unsafe})
            assert len(tap.sent) == before
        assert tap.count("Action: Originate") == 0
        assert tap.count("Action: Command") == 0
        assert await client.list_action("CoreShowChannels") == []
        assert (await client.action("Ping"))["Ping"] == "Pong"


@pytest.mark.parametrize("value", [v for v in HOSTILE_VALUES if v != '"'])
async def test_hostile_originate_variable_is_data_never_evaluated(new_client: ClientFactory, value: str) -> None:
    """A shell or dialplan metacharacter in an Originate Variable comes back verbatim from Getvar."""
    client = await new_client()
    channel_id = _new_channel_id()
    async with _live_channel(client, channel_id, channel_vars=[f"SB_HOSTILE={value}"]):
        answer = await client.action("Getvar", {"Channel": channel_id, "Variable": "SB_HOSTILE"})
    assert answer["Value"] == value


@pytest.mark.parametrize("value", HOSTILE_VALUES)
async def test_hostile_setvar_value_is_data_never_evaluated(new_client: ClientFactory, value: str) -> None:
    """Setvar of a shell or dialplan metacharacter on a live channel comes back verbatim from Getvar."""
    client = await new_client()
    channel_id = _new_channel_id()
    async with _live_channel(client, channel_id):
        await client.action("Setvar", {"Channel": channel_id, "Variable": "SB_HOSTILE", "Value": value})
        answer = await client.action("Getvar", {"Channel": channel_id, "Variable": "SB_HOSTILE"})
    assert answer["Value"] == value


async def test_originate_variable_loses_quotes_commas_and_backslashes(new_client: ClientFactory) -> None:
    """Asterisk parses an Originate Variable as application arguments: quotes and backslashes go, a comma splits."""
    client = await new_client()
    channel_id = _new_channel_id()
    sent = ['SB_QUOTE=say "hi"', "SB_COMMA=a,b", "SB_SLASH=x\\y"]
    async with _live_channel(client, channel_id, channel_vars=sent):
        got = {}
        for name in ("SB_QUOTE", "SB_COMMA", "SB_SLASH"):
            answer = await client.action("Getvar", {"Channel": channel_id, "Variable": name})
            got[name] = answer["Value"]
    assert got == {"SB_QUOTE": "say hi", "SB_COMMA": "a", "SB_SLASH": "xy"}


async def test_kill_9_fails_the_pending_originate_which_is_never_replayed(
    new_client: ClientFactory, asterisk: AsteriskProcess
) -> None:
    """kill -9 with an Originate pending: AmiDisconnectedError; after the restart the hook reruns, nothing re-sent."""
    site = asterisk.site
    hook_saw: list[int] = []

    async def rebuild(client: AmiClient) -> None:
        hook_saw.append(len(await client.list_action("CoreShowChannels")))

    channel_id = _new_channel_id()
    async with WireTap(str(site.asterisk.host), site.asterisk.ami_port) as tap:
        client = await new_client(port=tap.port, connect=False, connect_timeout=2.0, backoff_max=0.5)
        client.add_connect_hook(rebuild)
        await client.connect()
        events = client.events()
        assert await _next_change(events) == ConnectionChange(up=True, reason="connected")
        assert asterisk.proc is not None
        old_group = asterisk.proc.pid
        # Frozen, Asterisk cannot answer: the Originate is surely still pending when the kill comes.
        await _freeze(old_group)
        originate = asyncio.create_task(client.action("Originate", _originate_headers(channel_id), timeout=15))
        await tap.wait_sent("Action: Originate")
        await asterisk.kill()
        assert not _group_alive(old_group)
        with pytest.raises(AmiDisconnectedError):
            await originate
        down = await _next_change(events)
        assert not down.up
        await asterisk.start()
        assert await _next_change(events, timeout=15) == ConnectionChange(up=True, reason="reconnected")
        assert hook_saw == [0, 0]
        channels = await client.list_action("CoreShowChannels")
        assert [item["Channel"] for item in channels] == []
        assert tap.count("Action: Originate") == 1


def _originate_headers(channel_id: str, channel_vars: list[str] | None = None) -> dict[str, str | list[str]]:
    headers: dict[str, str | list[str]] = {
        "Channel": FAIL_LOCAL,
        "Application": "Wait",
        "Data": "10",
        "Async": "true",
        # our own ids for both halves: Getvar, Hangup and CoreShowChannels find the channel by them
        "ChannelId": channel_id,
        "OtherChannelId": f"{channel_id}-2",
    }
    if channel_vars:
        headers["Variable"] = channel_vars
    return headers


@contextlib.asynccontextmanager
async def _live_channel(
    client: AmiClient, channel_id: str, channel_vars: list[str] | None = None
) -> AsyncIterator[None]:
    """A Local channel up in Wait for the block, with ``channel_vars`` (``NAME=value``); hung up after it."""
    await client.action("Originate", _originate_headers(channel_id, channel_vars))
    try:
        await _until_channel(client, channel_id, present=True)
        yield
    finally:
        with contextlib.suppress(AmiActionError):  # it may have ended on its own already
            await client.action("Hangup", {"Channel": channel_id})
        await _until_channel(client, channel_id, present=False)


async def _until_channel(client: AmiClient, channel_id: str, *, present: bool, timeout: float = 3.0) -> None:
    """Until both halves of the Local channel are listed and ;1 is in Wait (answered), or neither half is."""
    halves = {channel_id, f"{channel_id}-2"}
    async with asyncio.timeout(timeout):
        while True:
            listed = {item["Uniqueid"]: item for item in await client.list_action("CoreShowChannels")}
            ours = halves & listed.keys()
            if present and ours == halves and listed[channel_id]["Application"] == "Wait":
                return
            if not present and not ours:
                return
            await asyncio.sleep(0.02)


async def _next(events: AsyncIterator[AmiEvent], timeout: float = 3.0) -> AmiEvent:
    return await asyncio.wait_for(anext(events), timeout)


async def _next_change(events: AsyncIterator[AmiEvent], timeout: float = 5.0) -> ConnectionChange:
    """The next up/down marker, skipping Asterisk's events."""
    async with asyncio.timeout(timeout):
        async for event in events:
            if isinstance(event, ConnectionChange):
                return event
    raise AssertionError("event stream ended")


async def _next_event(events: AsyncIterator[AmiEvent], name: str, timeout: float = 3.0) -> AmiMessage:
    async with asyncio.timeout(timeout):
        async for event in events:
            if isinstance(event, AmiMessage) and event.name == name:
                return event
    raise AssertionError("event stream ended")


async def _freeze(pid: int, timeout: float = 3.0) -> None:
    """SIGSTOP Asterisk's process group, then wait until every thread has really stopped.

    killpg returns before that: a thread woken by our bytes in the meantime could still answer them.
    """
    os.killpg(pid, signal.SIGSTOP)
    for _ in range(int(timeout / 0.005)):
        if _all_threads_stopped(pid):
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"Asterisk {pid} did not stop within {timeout}s")


def _all_threads_stopped(pid: int) -> bool:
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except FileNotFoundError:
            continue  # a thread that just ended
        if fields[0] not in ("T", "t"):
            return False
    return True


def _new_channel_id() -> str:
    return f"sb-it-{os.getpid()}-{next(_channel_ids)}"


async def _cli_channels(asterisk: AsteriskProcess) -> list[str]:
    """Asterisk's own list of channels, one ``!``-separated line each (none if Asterisk is not running)."""
    if not asterisk.running:
        return []
    out = await asterisk.cli("core show channels concise", check=False)
    return [line for line in out.splitlines() if "!" in line]


def _mark(asterisk: AsteriskProcess, text: str) -> None:
    """A line in Asterisk's own log, so a failure can be read test by test."""
    log_file: Path = asterisk.conf_dir / "log" / "messages"
    with log_file.open("a", encoding="utf-8") as messages:
        messages.write(f"[switchboard-test] --- {text}\n")


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
