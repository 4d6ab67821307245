"""The FastAGI server driven by a fake Asterisk over real loopback TCP: sessions, failures, hostile peers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from agi_scripts import server as server_module
from agi_scripts.server import AgiSession, FastAgiServer, Handler
from switchboard.errors import AgiCommandError, AgiHangupError, AgiProtocolError
from switchboard.privacy import mask_number

WAIT = 5.0  # seconds: a bound so a broken server fails a test instead of hanging it, never a figure we assert
OPEN_FAKES: list[FakeAsterisk] = []
FAIL_COMMANDS = ['SET CONTEXT "switchboard-fail"', 'SET EXTENSION "s"', 'SET PRIORITY "1"']


def agi_header(port: int, script: str = "route", *args: str, uniqueid: str = "1718000000.7") -> bytes:
    lines = [
        "agi_network: yes",
        f"agi_network_script: {script}",
        f"agi_request: agi://127.0.0.1:{port}/{script}",
        "agi_channel: PJSIP/trunk-00000007",
        f"agi_uniqueid: {uniqueid}",
        "agi_callerid: 0612345678",
        "agi_calleridname: Jeanne Martin",
        "agi_context: from-trunk",
        "agi_extension: 0140000000",
        *(f"agi_arg_{n}: {arg}" for n, arg in enumerate(args, 1)),
    ]
    return ("\n".join(lines) + "\n\n").encode()


class FakeAsterisk:
    """Asterisk's side of one FastAGI connection: writes the header, reads commands, answers them."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def call(cls, port: int, script: str = "route", *args: str, uniqueid: str = "1718000000.7") -> FakeAsterisk:
        fake = await cls.connect(port)
        fake.send(agi_header(port, script, *args, uniqueid=uniqueid))
        return fake

    @classmethod
    async def connect(cls, port: int) -> FakeAsterisk:
        fake = cls(*await asyncio.open_connection("127.0.0.1", port))
        OPEN_FAKES.append(fake)  # closed after the test even when it fails half-way
        return fake

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    async def command(self) -> str:
        line = await asyncio.wait_for(self.reader.readline(), WAIT)
        assert line.endswith(b"\n"), f"expected a command, got {line!r}"
        return line[:-1].decode()

    async def answer_all(self, reply: str = "200 result=1") -> list[str]:
        """Answer every command the same way until the server closes; return the commands seen."""
        commands = []
        while line := await asyncio.wait_for(self.reader.readline(), WAIT):
            commands.append(line.decode().rstrip("\n"))
            self.send(f"{reply}\n".encode())
        return commands

    async def closed_by_server(self) -> bool:
        """True when the server closed the connection without sending anything more."""
        try:
            return await asyncio.wait_for(self.reader.read(), WAIT) == b""
        except ConnectionResetError:  # closed with our bytes unread: the kernel resets instead
            return True

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except ConnectionError:
            pass


ServerFactory = Callable[..., Awaitable[tuple[FastAgiServer, int]]]


@pytest.fixture
async def start_server() -> AsyncIterator[ServerFactory]:
    servers: list[FastAgiServer] = []

    async def start(handlers: dict[str, Handler], **options: float | str) -> tuple[FastAgiServer, int]:
        server = FastAgiServer(handlers, **options)  # type: ignore[arg-type]
        _, port = await server.start()
        servers.append(server)
        return server, port

    yield start
    while OPEN_FAKES:
        await OPEN_FAKES.pop().close()
    for server in servers:
        await server.stop()
        assert server.active_sessions == 0  # leak check, as the integration harness does


async def eventually(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(WAIT):
        while not condition():  # noqa: ASYNC110 -- the server's counters have no event to wait on
            await asyncio.sleep(0.005)


async def three_set_variables(session: AgiSession) -> None:
    for name in ("A", "B", "C"):
        await session.set_variable(name, session.request.uniqueid)


# -- a normal session ---------------------------------------------------------------------------


async def test_handler_gets_the_request_and_its_args(start_server: ServerFactory) -> None:
    """The handler registered for the script gets the parsed request, agi_arg_N in order."""
    seen: list[AgiSession] = []

    async def route(session: AgiSession) -> None:
        seen.append(session)

    server, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port, "route", "sales", "fr")
    assert await fake.closed_by_server()
    request = seen[0].request
    assert (request.script, request.args, request.uniqueid) == ("route", ("sales", "fr"), "1718000000.7")
    assert (request.callerid, request.extension, request.context) == ("0612345678", "0140000000", "from-trunk")
    await eventually(lambda: server.active_sessions == 0)
    assert (server.stats.sessions_total, server.stats.sessions_failed) == (1, 0)
    await fake.close()


async def test_commands_are_quoted_on_the_wire(start_server: ServerFactory) -> None:
    """Every argument goes out in double quotes, backslash and quote escaped, verb bare."""

    async def route(session: AgiSession) -> None:
        await session.set_variable("NOTE", 'say "hi" \\ ${SHELL(id)}; $(rm -rf)')
        await session.exec_app("Playback", "hello-world", "noanswer")
        await session.stream_file("welcome", "#")

    _, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    assert await fake.answer_all() == [
        'SET VARIABLE "NOTE" "say \\"hi\\" \\\\ ${SHELL(id)}; $(rm -rf)"',
        'EXEC "Playback" "hello-world,noanswer"',
        'STREAM FILE "welcome" "#"',
    ]
    await fake.close()


async def test_replies_reach_the_handler(start_server: ServerFactory) -> None:
    """GET VARIABLE gives the value in parentheses, or None when Asterisk says result=0."""
    values: list[str | None] = []

    async def route(session: AgiSession) -> None:
        values.append(await session.get_variable("SET_ONE"))
        values.append(await session.get_variable("UNSET_ONE"))

    _, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == 'GET VARIABLE "SET_ONE"'
    fake.send(b"200 result=1 (Jeanne (VIP))\n")
    assert await fake.command() == 'GET VARIABLE "UNSET_ONE"'
    fake.send(b"200 result=0\n")
    assert await fake.closed_by_server()
    assert values == ["Jeanne (VIP)", None]
    await fake.close()


# -- hangups: the session ends quietly ----------------------------------------------------------


@pytest.mark.parametrize("hangup", [b"HANGUP\n", b"200 result=-1\n", b"HANGUP\n200 result=-1\n"])
async def test_hangup_mid_session_ends_quietly(
    start_server: ServerFactory, hangup: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A HANGUP line or result=-1 ends the handler with AgiHangupError: no fail extension, no error logged."""
    raised: list[BaseException] = []

    async def route(session: AgiSession) -> None:
        await session.answer()
        try:
            await session.set_variable("A", "1")
        except AgiHangupError as exc:
            raised.append(exc)
            raise

    server, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == "ANSWER"
    fake.send(b"200 result=0\n")
    assert await fake.command() == 'SET VARIABLE "A" "1"'
    fake.send(hangup)
    assert await fake.closed_by_server()  # and no SET CONTEXT before the close
    assert len(raised) == 1
    assert server.stats.sessions_failed == 0
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    await eventually(lambda: server.active_sessions == 0)
    await fake.close()


async def test_hangup_right_after_the_header(start_server: ServerFactory) -> None:
    """A HANGUP in the same packet as the header fails the first command without sending it."""

    async def route(session: AgiSession) -> None:
        await asyncio.sleep(0.01)  # let the HANGUP arrive first
        await session.answer()

    _, port = await start_server({"route": route})
    fake = await FakeAsterisk.connect(port)
    fake.send(agi_header(port) + b"HANGUP\n")
    assert await fake.closed_by_server()
    await fake.close()


async def test_asterisk_closing_the_socket_is_a_hangup(start_server: ServerFactory) -> None:
    """When Asterisk closes the connection while a command waits, the handler gets AgiHangupError."""
    raised: list[BaseException] = []

    async def route(session: AgiSession) -> None:
        try:
            await session.answer()
        except AgiHangupError as exc:
            raised.append(exc)

    server, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == "ANSWER"
    await fake.close()
    await eventually(lambda: server.active_sessions == 0)
    assert len(raised) == 1


# -- failures: the call goes to the fail extension ----------------------------------------------


async def test_handler_exception_sends_call_to_fail_extension(
    start_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler error sets context, extension and priority 1 of the fail extension, then closes."""

    async def route(session: AgiSession) -> None:
        await session.answer()
        raise ValueError(f"no queue for caller {session.request.callerid}")

    server, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port, uniqueid="1718000000.99")
    assert await fake.answer_all() == ["ANSWER", *FAIL_COMMANDS]
    assert server.stats.sessions_failed == 1
    [record] = [r for r in caplog.records if r.name == "switchboard.agi" and r.levelno == logging.ERROR]
    text = record.getMessage()
    assert "1718000000.99" in text  # the uniqueid, to find the call
    assert "********78" in text
    assert "ValueError" in text
    assert "0612345678" not in text  # never the caller's number in clear, not even inside the traceback
    await fake.close()


async def test_fail_extension_is_configurable(start_server: ServerFactory) -> None:
    """fail_context and fail_extension choose where failed calls go."""

    async def route(session: AgiSession) -> None:
        raise RuntimeError("boom")

    _, port = await start_server({"route": route}, fail_context="sorry", fail_extension="closed")
    fake = await FakeAsterisk.call(port)
    assert await fake.answer_all() == ['SET CONTEXT "sorry"', 'SET EXTENSION "closed"', 'SET PRIORITY "1"']
    await fake.close()


@pytest.mark.parametrize(
    "refusal",
    [
        b"510 Invalid or unknown command\n",
        b"511 Command Not Permitted on a dead channel\n",
        b"520-Invalid command syntax.  Proper usage follows:\nUsage: SET VARIABLE\n520 End of proper usage.\n",
    ],
)
async def test_command_refused_by_asterisk_sends_call_to_fail_extension(
    start_server: ServerFactory, refusal: bytes
) -> None:
    """510, 511 and a multi-line 520 raise AgiCommandError in the handler; uncaught, the call is redirected."""
    raised: list[BaseException] = []

    async def route(session: AgiSession) -> None:
        try:
            await session.set_variable("A", "1")
        except AgiCommandError as exc:
            raised.append(exc)
            raise

    _, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == 'SET VARIABLE "A" "1"'
    fake.send(refusal)
    assert await fake.answer_all() == FAIL_COMMANDS
    assert refusal.split(b"\n")[-2].decode() in str(raised[0])
    await fake.close()


async def test_unknown_script_goes_to_fail_extension(start_server: ServerFactory) -> None:
    """A script with no handler registered sends the call to the fail extension."""
    server, port = await start_server({"route": three_set_variables})
    fake = await FakeAsterisk.call(port, "no-such-script")
    assert await fake.answer_all() == FAIL_COMMANDS
    assert server.stats.sessions_failed == 1
    await fake.close()


async def test_one_command_at_a_time(start_server: ServerFactory) -> None:
    """Two commands sent at once from one session are a handler bug: the call is redirected."""

    async def route(session: AgiSession) -> None:
        await asyncio.gather(session.answer(), session.answer())

    _, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    assert await fake.answer_all() == ["ANSWER", *FAIL_COMMANDS]
    await fake.close()


async def test_too_many_sessions_go_to_fail_extension(start_server: ServerFactory) -> None:
    """Past max_sessions running handlers, new calls are redirected at once instead of queued."""
    release = asyncio.Event()

    async def route(session: AgiSession) -> None:
        await release.wait()

    server, port = await start_server({"route": route}, max_sessions=1)
    busy = await FakeAsterisk.call(port)
    await eventually(lambda: server.running_handlers == 1)
    extra = await FakeAsterisk.call(port)
    assert await extra.answer_all() == FAIL_COMMANDS
    release.set()
    assert await busy.closed_by_server()
    await busy.close()
    await extra.close()


# -- slow, half-open and hostile peers ---------------------------------------------------------


async def test_half_open_client_does_not_delay_other_sessions(start_server: ServerFactory) -> None:
    """A peer stalled in the middle of its header holds only its own socket: 50 calls complete meanwhile."""
    server, port = await start_server({"route": three_set_variables}, header_timeout=60.0)
    stalled = await FakeAsterisk.connect(port)
    stalled.send(agi_header(port)[:100])
    await eventually(lambda: server.active_sessions == 1)

    async def one_call(n: int) -> list[str]:
        fake = await FakeAsterisk.call(port, uniqueid=f"1718000000.{n}")
        try:
            return await fake.answer_all()
        finally:
            await fake.close()

    results = await asyncio.gather(*(one_call(n) for n in range(50)))
    assert all(len(commands) == 3 for commands in results)
    assert results[7][0] == 'SET VARIABLE "A" "1718000000.7"'
    assert server.active_sessions == 1  # the stalled one, still open: nothing waited for it
    assert not stalled.reader.at_eof()
    await stalled.close()
    await eventually(lambda: server.active_sessions == 0)


async def test_header_in_pieces_with_crlf(start_server: ServerFactory) -> None:
    """A header that trickles in a few bytes at a time, with CRLF line ends, still makes a session."""
    _, port = await start_server({"route": three_set_variables})
    fake = await FakeAsterisk.connect(port)
    header = agi_header(port).replace(b"\n", b"\r\n")
    for start in range(0, len(header), 7):
        fake.send(header[start : start + 7])
        await fake.writer.drain()
        await asyncio.sleep(0)
    assert len(await fake.answer_all()) == 3


async def test_without_epoll(start_server: ServerFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Where select.epoll is missing (macOS), each socket is watched by the event loop itself."""
    monkeypatch.setattr(server_module, "_USE_EPOLL", False)
    server, port = await start_server({"route": three_set_variables})
    fakes = [await FakeAsterisk.call(port, uniqueid=f"1718000000.{n}") for n in range(3)]
    for fake in fakes:
        assert len(await fake.answer_all()) == 3
    await eventually(lambda: server.active_sessions == 0)


@pytest.mark.parametrize(
    "garbage",
    [
        b"GET / HTTP/1.1\r\nHost: switchboard\r\n\r\n",
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\n\n",
        b"agi_network: yes\nagi_channel: PJSIP/x\n\n",
    ],
)
async def test_garbage_header_is_closed(start_server: ServerFactory, garbage: bytes) -> None:
    """An HTTP request, TLS noise or a header without agi_request is closed without a command."""
    server, port = await start_server({"route": three_set_variables})
    fake = await FakeAsterisk.connect(port)
    fake.send(garbage)
    assert await fake.closed_by_server()
    assert (server.stats.protocol_errors, server.stats.sessions_total) == (1, 0)
    await fake.close()
    await eventually(lambda: server.active_sessions == 0)


async def test_oversized_header_is_closed(start_server: ServerFactory) -> None:
    """A header that passes header_limit without its blank line is closed."""
    server, port = await start_server({"route": three_set_variables}, header_limit=1024)
    fake = await FakeAsterisk.connect(port)
    fake.send(b"agi_request: agi://h/route\n" + b"agi_padding: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" * 40)
    assert await fake.closed_by_server()
    assert server.stats.protocol_errors == 1
    await fake.close()


async def test_header_timeout_closes_the_connection(start_server: ServerFactory) -> None:
    """A peer that does not finish its header within header_timeout is closed."""
    server, port = await start_server({"route": three_set_variables}, header_timeout=0.2)
    fake = await FakeAsterisk.connect(port)
    fake.send(b"agi_network: yes\n")
    assert await fake.closed_by_server()
    assert server.stats.protocol_errors == 1
    await fake.close()


async def test_connect_and_close_is_not_an_error(start_server: ServerFactory) -> None:
    """A bare TCP check (connect, close) leaves no session and counts no protocol error."""
    server, port = await start_server({"route": three_set_variables})
    fake = await FakeAsterisk.connect(port)
    await fake.close()
    await eventually(lambda: server.active_sessions == 0)
    assert server.stats.protocol_errors == 0


async def test_no_reply_within_command_timeout(start_server: ServerFactory) -> None:
    """A command left unanswered past command_timeout raises AgiProtocolError and closes the connection."""
    raised: list[BaseException] = []

    async def route(session: AgiSession) -> None:
        try:
            await session.answer()
        except AgiProtocolError as exc:
            raised.append(exc)
            raise

    server, port = await start_server({"route": route}, command_timeout=0.2)
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == "ANSWER"
    assert await fake.closed_by_server()  # a late reply would answer the wrong command: no redirect
    assert len(raised) == 1
    assert server.stats.protocol_errors == 1
    await fake.close()


async def test_endless_reply_is_closed(start_server: ServerFactory) -> None:
    """A reply line that never ends is cut off instead of filling memory."""
    _, port = await start_server({"route": three_set_variables})
    fake = await FakeAsterisk.call(port)
    await fake.command()
    for _ in range(70):
        fake.send(b"x" * 1024)
    assert await fake.closed_by_server()
    await fake.close()


async def test_stray_reply_closes_the_connection_and_logs_no_number(
    start_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply to no command is a protocol error; the logs mask the number it carried."""
    release = asyncio.Event()

    async def route(session: AgiSession) -> None:
        await release.wait()
        await session.answer()

    server, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    fake.send(b"200 result=1 (0612345678)\n")
    assert await fake.closed_by_server()
    release.set()
    await eventually(lambda: server.active_sessions == 0 and server.running_handlers == 0)
    assert server.stats.protocol_errors == 1
    assert "0612345678" not in caplog.text
    assert "********78" in caplog.text


# -- stopping ------------------------------------------------------------------------------------


async def test_stop_sends_running_calls_to_fail_extension(start_server: ServerFactory) -> None:
    """stop() cancels handlers; the reply owed to the interrupted command is skipped, then the call is redirected."""
    server, port = await start_server({"route": three_set_variables})
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == 'SET VARIABLE "A" "1718000000.7"'  # left unanswered for now
    stopping = asyncio.create_task(server.stop())
    assert await fake.command() == FAIL_COMMANDS[0]
    fake.send(b"200 result=1\n")  # the late reply to SET VARIABLE
    fake.send(b"200 result=0\n")  # SET CONTEXT's
    assert await fake.answer_all("200 result=0") == FAIL_COMMANDS[1:]
    await asyncio.wait_for(stopping, WAIT)
    assert server.active_sessions == 0
    await fake.close()


async def test_stop_closes_connections_still_in_their_header(start_server: ServerFactory) -> None:
    """stop() closes a connection that has not finished its header and refuses new ones."""
    server, port = await start_server({"route": three_set_variables})
    fake = await FakeAsterisk.connect(port)
    fake.send(b"agi_network: yes\n")
    await eventually(lambda: server.active_sessions == 1)
    await server.stop()
    assert await fake.closed_by_server()
    assert server.active_sessions == 0
    with pytest.raises(ConnectionRefusedError):
        await FakeAsterisk.connect(port)
    await fake.close()


# -- logging -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("0612345678", "********78"),
        ("+33 6 12 34 56 78", "+** * ** ** ** 78"),
        ("42", "42"),
        ("", "-"),
        ("anonymous", "anonymous"),
    ],
)
def test_mask_number_keeps_only_the_last_two_digits(number: str, masked: str) -> None:
    """Logs show a caller's number as stars and its last two digits."""
    assert mask_number(number) == masked


async def test_stop_before_start_does_nothing() -> None:
    """stop() on a server never started returns at once."""
    await FastAgiServer({}).stop()


# -- the last command: sent, our half shut, the reply not awaited ------------------------------------------------


async def test_last_command_ends_the_script_before_its_reply(start_server: ServerFactory) -> None:
    """After the last command Asterisk reads our end of file at once; its late reply is dropped, not an error."""
    done = asyncio.Event()

    async def route(session: AgiSession) -> None:
        await session.set_variable("A", "1")
        await session.set_variables({"B": "x,y", "C": "PJSIP/op1"}, last=True)
        done.set()

    server, port = await start_server({"route": route})
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == 'SET VARIABLE "A" "1"'
    fake.send(b"200 result=1\n")
    assert await fake.command() == 'EXEC "MSet" "B=x\\\\,y,C=PJSIP/op1"'
    await asyncio.wait_for(done.wait(), WAIT)
    assert await asyncio.wait_for(fake.reader.read(), WAIT) == b""  # our end of file, with no reply sent yet
    assert server.active_sessions == 1  # still reading, until Asterisk closes its half
    fake.send(b"200 result=0\nHANGUP\n")
    await fake.close()
    await eventually(lambda: server.active_sessions == 0)
    assert server.stats.protocol_errors == 0 and server.stats.sessions_failed == 0


async def test_a_peer_that_never_closes_after_the_last_command_is_closed_quietly(
    start_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drain has a deadline: the connection is closed without a protocol error."""
    monkeypatch.setattr("agi_scripts.connection._DRAIN_TIMEOUT", 0.05)

    async def route(session: AgiSession) -> None:
        await session.last_command("SET VARIABLE", "A", "1")

    server, port = await start_server({"route": route}, command_timeout=0.2)
    fake = await FakeAsterisk.call(port)
    assert await fake.command() == 'SET VARIABLE "A" "1"'
    await eventually(lambda: server.active_sessions == 0)
    assert server.stats.protocol_errors == 0
