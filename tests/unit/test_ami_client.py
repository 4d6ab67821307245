"""The asyncio AMI client against a real in-process AMI server (tests/unit/fake_ami.py)."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator

import pytest

from switchboard.ami import AmiClient, AmiEvent, AmiMessage, ConnectionChange
from switchboard.errors import (
    AmiActionError,
    AmiConnectionError,
    AmiDisconnectedError,
    AmiLoginError,
    AmiTimeoutError,
    UnsafeHeaderError,
)
from tests.unit.fake_ami import FakeAmi, FakeConnection, ReceivedAction

FAST = {
    "ping_interval": 30.0,
    "ping_timeout": 1.0,
    "action_timeout": 2.0,
    "connect_timeout": 2.0,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
}


_names = itertools.count(1)


def client_for(server: FakeAmi, **options: object) -> AmiClient:
    """A client with short timeouts and a name of its own (its tasks are named after it)."""
    settings: dict[str, object] = {**FAST, "name": f"test-ami-{next(_names)}", **options}
    return AmiClient("127.0.0.1", server.port, server.username, server.secret, **settings)  # type: ignore[arg-type]


async def next_event(stream: AsyncIterator[AmiEvent]) -> AmiEvent:
    return await asyncio.wait_for(anext(stream), 2.0)


async def next_message(stream: AsyncIterator[AmiEvent]) -> AmiMessage:
    event = await next_event(stream)
    assert isinstance(event, AmiMessage), event
    return event


async def events_until(stream: AsyncIterator[AmiEvent], name: str) -> list[AmiEvent]:
    """Every event up to and including the event called ``name``."""
    seen: list[AmiEvent] = []
    while not (seen and isinstance(seen[-1], AmiMessage) and seen[-1].name == name):
        seen.append(await next_event(stream))
    return seen


def client_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name().startswith("test-ami-") and not t.done()]


def hold(conn: FakeConnection, action: ReceivedAction) -> None:
    """A handler that never answers: the action stays pending."""


@pytest.fixture
async def ami() -> AsyncIterator[FakeAmi]:
    async with FakeAmi() as server:
        yield server


@pytest.fixture
async def client(ami: FakeAmi) -> AsyncIterator[AmiClient]:
    client = client_for(ami)
    await client.connect()
    yield client
    await client.close()


async def test_login_sends_credentials_and_announces_the_link(ami: FakeAmi) -> None:
    """Login carries Username, Secret and Events: on; then up marker, then FullyBooted."""
    client = client_for(ami)
    await client.connect()
    try:
        stream = client.events()
        assert client.connected
        assert client.banner == "Asterisk Call Manager/5.0.1"
        [login] = ami.named("Login")
        assert (login.get("Username"), login.get("Secret")) == ("switchboard", "s3cret")
        assert login.get("Events") == "on"
        assert await next_event(stream) == ConnectionChange(up=True, reason="connected")
        assert (await next_message(stream)).name == "FullyBooted"
    finally:
        await client.close()


async def test_the_secret_is_never_logged(ami: FakeAmi, caplog: pytest.LogCaptureFixture) -> None:
    """Even at DEBUG, no log line holds the secret (connect, actions, reconnect, close)."""
    caplog.set_level(logging.DEBUG, logger="switchboard.ami")
    client = client_for(ami)
    await client.connect()
    await client.action("Ping")
    ami.connections[0].drop()
    await ami.wait_until(lambda: client.connected and len(ami.connections) == 2)
    await client.close()
    assert "switchboard.ami" in {r.name for r in caplog.records}
    assert ami.secret not in caplog.text


async def test_events_off_is_asked_at_login(ami: FakeAmi) -> None:
    """events=False logs in with Events: off."""
    client = client_for(ami, events=False)
    await client.connect()
    await client.close()
    assert ami.named("Login")[0].get("Events") == "off"


async def test_bad_secret_raises_login_error_and_leaves_nothing(ami: FakeAmi) -> None:
    """A refused login raises AmiLoginError (no retry), without the secret in the text."""
    client = client_for(ami)  # logs in with "s3cret"
    ami.secret = "the-right-one"
    with pytest.raises(AmiLoginError) as caught:
        await client.connect()
    assert "s3cret" not in str(caught.value)
    assert not client.connected
    assert client_tasks() == []
    await asyncio.sleep(0.1)
    assert len(ami.connections) == 1  # no reconnect loop on bad credentials
    await client.close()


async def test_nobody_listening_raises_connection_error() -> None:
    """A refused TCP connection raises AmiConnectionError."""
    async with FakeAmi() as server:
        port = server.port
    client = AmiClient("127.0.0.1", port, "u", "s", **FAST)  # type: ignore[arg-type]
    with pytest.raises(AmiConnectionError):
        await client.connect()
    await client.close()


async def test_silent_server_raises_connection_error_after_connect_timeout(ami: FakeAmi) -> None:
    """A server that never answers Login fails connect() with AmiConnectionError."""
    ami.handlers["login"] = hold
    client = client_for(ami, connect_timeout=0.1)
    with pytest.raises(AmiConnectionError):
        await client.connect()
    assert client_tasks() == []
    await client.close()


async def test_answers_are_matched_by_action_id_when_out_of_order(ami: FakeAmi, client: AmiClient) -> None:
    """Two actions answered in reverse order each get their own response."""
    held: list[tuple[FakeConnection, ReceivedAction]] = []

    def reverse(conn: FakeConnection, action: ReceivedAction) -> None:
        held.append((conn, action))
        if len(held) == 2:
            for c, a in reversed(held):
                c.respond(a, "Success", ("Echo", a.get("Echo")))

    ami.handlers["echo"] = reverse
    first, second = await asyncio.gather(
        client.action("Echo", {"Echo": "first"}), client.action("Echo", {"Echo": "second"})
    )
    assert (first["Echo"], second["Echo"]) == ("first", "second")
    assert first.action_id != second.action_id


async def test_list_action_collects_items_until_complete(ami: FakeAmi, client: AmiClient) -> None:
    """list_action returns the item events; neither they nor Complete reach events()."""
    stream = client.events()

    def channels(conn: FakeConnection, action: ReceivedAction) -> None:
        action_id = ("ActionID", action.action_id)
        conn.respond(action, "Success", ("EventList", "start"), ("Message", "will follow"))
        conn.send(("Event", "CoreShowChannel"), action_id, ("Channel", "PJSIP/a-1"))
        conn.event("Newstate", ("Channel", "PJSIP/x-9"))  # unrelated, in between
        conn.send(("Event", "CoreShowChannel"), action_id, ("Channel", "PJSIP/b-2"))
        conn.send(
            ("Event", "CoreShowChannelsComplete"),
            action_id,
            ("EventList", "Complete"),
            ("ListItems", "2"),
        )
        conn.event("Marker")

    ami.handlers["coreshowchannels"] = channels
    items = await client.list_action("CoreShowChannels")
    assert [(i.name, i["Channel"]) for i in items] == [
        ("CoreShowChannel", "PJSIP/a-1"),
        ("CoreShowChannel", "PJSIP/b-2"),
    ]
    seen = await events_until(stream, "Marker")
    names = [e.name for e in seen if isinstance(e, AmiMessage)]
    assert names == ["FullyBooted", "Newstate", "Marker"]


async def test_list_action_with_no_items_returns_an_empty_list(ami: FakeAmi, client: AmiClient) -> None:
    """A list of zero items (Success, then Complete at once) gives []."""
    ami.channels = []
    assert await client.list_action("CoreShowChannels") == []


async def test_response_error_raises_action_error(client: AmiClient) -> None:
    """Response: Error raises AmiActionError carrying Asterisk's message and the response."""
    with pytest.raises(AmiActionError) as caught:
        await client.action("NoSuchAction")
    assert "Invalid/unknown command" in str(caught.value)
    assert isinstance(caught.value.response, AmiMessage)
    assert caught.value.response["Response"] == "Error"


async def test_timeout_raises_and_the_late_answer_is_dropped(ami: FakeAmi, client: AmiClient) -> None:
    """An action without answer raises AmiTimeoutError; its late answer is then ignored."""
    stream = client.events()
    late: list[tuple[FakeConnection, ReceivedAction]] = []
    ami.handlers["slow"] = ami.handlers["slowlist"] = lambda c, a: late.append((c, a))
    with pytest.raises(AmiTimeoutError):
        await client.action("Slow", timeout=0.05)
    with pytest.raises(AmiTimeoutError):
        await client.list_action("SlowList", timeout=0.05)
    (conn, slow), (_, slow_list) = late
    conn.respond(slow, "Success")
    conn.respond(slow_list, "Success", ("EventList", "start"))
    conn.send(("Event", "Item"), ("ActionID", slow_list.action_id))
    conn.send(("Event", "ItemsComplete"), ("ActionID", slow_list.action_id), ("EventList", "Complete"))
    conn.event("Marker")
    seen = await events_until(stream, "Marker")
    assert [e.name for e in seen if isinstance(e, AmiMessage)] == ["FullyBooted", "Marker"]
    assert (await client.action("Ping"))["Ping"] == "Pong"


async def test_unanswered_ping_drops_the_link_fails_pending_and_never_resends(ami: FakeAmi) -> None:
    """A ping without answer drops the link: the pending Originate fails, is not re-sent."""

    def ping_only_on_second_link(conn: FakeConnection, action: ReceivedAction) -> None:
        if conn.number > 1:
            conn.respond(action, "Success", ("Ping", "Pong"))

    ami.handlers["ping"] = ping_only_on_second_link
    ami.handlers["originate"] = hold
    client = client_for(ami, ping_interval=0.05, ping_timeout=0.2)
    await client.connect()
    stream = client.events()
    try:
        with pytest.raises(AmiDisconnectedError):
            await client.action("Originate", {"Channel": "PJSIP/lead-1", "Variable": ["A=1"]})
        assert await next_event(stream) == ConnectionChange(up=True, reason="connected")
        assert (await next_message(stream)).name == "FullyBooted"
        down = await next_event(stream)
        assert isinstance(down, ConnectionChange)
        assert not down.up
        assert "Ping" in down.reason
        assert await next_event(stream) == ConnectionChange(up=True, reason="reconnected")
        assert client.connected
        await client.action("Ping")  # a round trip on link 2: anything re-sent came before
        assert [a.connection for a in ami.named("Originate")] == [1]
        assert len(ami.connections) == 2
    finally:
        await client.close()


async def test_link_cut_fails_pending_action_and_reconnects(ami: FakeAmi, client: AmiClient) -> None:
    """EOF while an Originate waits: AmiDisconnectedError, reconnect, nothing re-sent."""
    ami.handlers["originate"] = lambda conn, action: conn.drop()
    with pytest.raises(AmiDisconnectedError):
        await client.action("Originate", {"Channel": "PJSIP/lead-2"})
    await ami.wait_until(lambda: len(ami.named("Login")) == 2)
    await ami.wait_until(lambda: client.connected)
    await client.action("Ping")
    assert len(ami.named("Originate")) == 1


@pytest.mark.parametrize("end", [b"\r\n", b"\n"], ids=["crlf-crlf", "crlf-lf"])
async def test_events_arrive_in_order_with_connection_markers(end: bytes) -> None:
    """Events come in wire order, framed by up/down markers across a reconnect."""
    async with FakeAmi(end=end) as ami:
        client = client_for(ami)
        await client.connect()
        stream = client.events()
        try:
            for n in range(200):
                ami.connections[0].event("UserEvent", ("Seq", str(n)))
            ami.connections[0].drop()
            first = await events_until(stream, "FullyBooted")
            first += [await next_event(stream) for _ in range(201)]
            second = await events_until(stream, "FullyBooted")
        finally:
            await client.close()
    assert first[0] == ConnectionChange(up=True, reason="connected")
    assert [e["Seq"] for e in first[2:202] if isinstance(e, AmiMessage)] == [str(n) for n in range(200)]
    assert first[202] == ConnectionChange(up=False, reason="connection closed by Asterisk")
    assert second[0] == ConnectionChange(up=True, reason="reconnected")


async def test_cr_or_lf_in_a_header_is_refused_before_any_byte_is_written(ami: FakeAmi, client: AmiClient) -> None:
    """UnsafeHeaderError, and the server never sees a byte of the refused action."""
    with pytest.raises(UnsafeHeaderError):
        await client.action("Originate", {"Channel": "PJSIP/1\r\nAction: Hangup"})
    with pytest.raises(UnsafeHeaderError):
        await client.action("Originate", {"Variable": ["OK=1", "BAD=2\n"]})
    await client.action("Ping")
    raw = bytes(ami.connections[0].raw)
    assert b"Originate" not in raw
    assert b"Hangup" not in raw
    assert [a.name for a in ami.actions] == ["Login", "Ping"]


async def test_action_while_disconnected_fails_at_once(ami: FakeAmi) -> None:
    """Before connect, and after a drop without reconnect: AmiConnectionError, not queued."""
    client = client_for(ami, reconnect=False)
    with pytest.raises(AmiConnectionError):
        await client.action("Ping")
    await client.connect()
    stream = client.events()
    ami.connections[0].drop()
    await events_until(stream, "FullyBooted")
    assert await next_event(stream) == ConnectionChange(up=False, reason="connection closed by Asterisk")
    with pytest.raises(AmiConnectionError):
        await client.action("Originate", {"Channel": "PJSIP/lead-3"})
    await client.close()
    assert ami.named("Originate") == []


async def test_close_logs_off_fails_pending_and_ends_the_stream(ami: FakeAmi) -> None:
    """close(): Logoff sent, pending action fails, stream ends, no task left behind."""
    ami.handlers["originate"] = hold
    client = client_for(ami)
    await client.connect()
    stream = client.events()
    pending = asyncio.create_task(client.action("Originate", {"Channel": "PJSIP/l-4"}))
    await ami.wait_until(lambda: ami.named("Originate"))
    await client.close()
    with pytest.raises(AmiDisconnectedError):
        await pending
    assert ami.named("Logoff")
    seen = [event async for event in stream]
    assert seen[-1] == ConnectionChange(up=False, reason="closed by the client")
    assert client_tasks() == []
    assert not client.connected
    await client.close()  # twice is fine


async def test_connect_hooks_run_before_the_up_marker_on_every_connect(ami: FakeAmi) -> None:
    """Hooks run after each login and may list channels; events meanwhile wait behind up."""
    runs: list[tuple[bool, int]] = []

    async def rebuild(client: AmiClient) -> None:
        ami.connections[-1].event("Newchannel", ("Channel", "PJSIP/new-1"))
        items = await client.list_action("CoreShowChannels")
        runs.append((client.connected, len(items)))

    client = client_for(ami)
    client.add_connect_hook(rebuild)
    await client.connect()
    stream = client.events()
    try:
        assert runs == [(False, 2)]
        assert await next_event(stream) == ConnectionChange(up=True, reason="connected")
        seen = await events_until(stream, "Newchannel")
        assert [e.name for e in seen if isinstance(e, AmiMessage)] == [
            "FullyBooted",
            "Newchannel",
        ]
        ami.connections[0].drop()
        await events_until(stream, "FullyBooted")
        assert runs == [(False, 2), (False, 2)]
    finally:
        await client.close()


async def test_a_failing_hook_fails_connect(ami: FakeAmi) -> None:
    """A hook that raises at the first connect makes connect() raise it, link closed."""

    async def broken(client: AmiClient) -> None:
        raise RuntimeError("picture rebuild failed")

    client = client_for(ami)
    client.add_connect_hook(broken)
    with pytest.raises(RuntimeError):
        await client.connect()
    assert not client.connected
    assert client_tasks() == []
    await client.close()


async def test_a_hook_failing_on_reconnect_is_retried(ami: FakeAmi) -> None:
    """A hook that fails after a drop fails that attempt only: the next attempt brings the link up."""
    calls: list[int] = []

    async def flaky(client: AmiClient) -> None:
        calls.append(len(ami.connections))
        if len(calls) == 2:
            raise RuntimeError("store not reachable yet")

    client = client_for(ami)
    client.add_connect_hook(flaky)
    await client.connect()
    stream = client.events()
    ami.connections[0].drop()
    await ami.wait_until(lambda: client.connected and len(ami.connections) == 3)
    await client.close()
    assert calls == [1, 2, 3]
    markers = [e for e in [event async for event in stream] if isinstance(e, ConnectionChange)]
    assert [m.up for m in markers] == [True, False, True, False]


async def test_async_originate_response_event_reaches_the_stream(ami: FakeAmi, client: AmiClient) -> None:
    """An event naming an action already answered (OriginateResponse) is an ordinary event."""

    def originate(conn: FakeConnection, action: ReceivedAction) -> None:
        conn.respond(action, "Success", ("Message", "Originate successfully queued"))
        conn.event("OriginateResponse", ("ActionID", action.action_id), ("Response", "Success"))

    ami.handlers["originate"] = originate
    stream = client.events()
    response = await client.action("Originate", {"Channel": "PJSIP/lead-5", "Async": "true"})
    seen = await events_until(stream, "OriginateResponse")
    assert seen[-1].get("ActionID") == response.action_id  # type: ignore[union-attr]


async def test_oversized_message_from_asterisk_drops_the_link(ami: FakeAmi, client: AmiClient) -> None:
    """A message over 4 MiB is a protocol error: pending fails, the client reconnects."""
    ami.handlers["flood"] = lambda conn, action: conn.writer.write(b"X" * (5 * 1024 * 1024))
    with pytest.raises(AmiDisconnectedError, match="protocol error"):
        await client.action("Flood")
    await ami.wait_until(lambda: client.connected and len(ami.connections) == 2)
