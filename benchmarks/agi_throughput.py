"""How many AGI sessions per second our FastAGI server completes on one core: prints one JSON line.

The server runs in its own process pinned to one core; a raw-socket load generator that plays
Asterisk 16 (header, then "200 result=1" to each command) runs in this process, on the other core.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import select
import socket
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agi_scripts.server import AgiSession, FastAgiServer, Handler  # noqa: E402


async def _three_set_variables(session: AgiSession) -> None:
    await session.set_variable("SWITCHBOARD_CALL_ID", session.request.uniqueid)
    await session.set_variable("SWITCHBOARD_RECORDING", "/recordings/2024/06/call.wav")
    await session.set_variable("SWITCHBOARD_TARGET", "PJSIP/op-1042")


def _local_benchmark_handler() -> Handler:
    """The same three commands as the real route script, until it offers its own."""
    return _three_set_variables


try:  # The real `route` handler, when its module offers one; the fallback is one line below.
    from agi_scripts.route import build_benchmark_handler  # type: ignore[attr-defined]

    HANDLER_SOURCE = "agi_scripts.route.build_benchmark_handler"
except ImportError:
    build_benchmark_handler = _local_benchmark_handler
    HANDLER_SOURCE = "benchmarks.agi_throughput (local fallback)"

COMMANDS_PER_SESSION = 3
REPLY = b"200 result=1\n"
# What Asterisk 16's launch_netscript() and setup_env() write, in their order.
HEADER_TEMPLATE = (
    "agi_network: yes\n"
    "agi_network_script: route\n"
    "agi_request: agi://127.0.0.1:{port}/route\n"
    "agi_channel: PJSIP/trunk-orange-{n:08x}\n"
    "agi_language: fr\n"
    "agi_type: PJSIP\n"
    "agi_uniqueid: 1718000000.{n}\n"
    "agi_version: 16.30.0\n"
    "agi_callerid: 0612345678\n"
    "agi_calleridname: Jeanne Martin\n"
    "agi_callingpres: 0\n"
    "agi_callingani2: 0\n"
    "agi_callington: 0\n"
    "agi_callingtns: 0\n"
    "agi_dnid: 0140000000\n"
    "agi_rdnis: unknown\n"
    "agi_context: from-trunk\n"
    "agi_extension: 0140000000\n"
    "agi_priority: 2\n"
    "agi_enhanced: 0.0\n"
    "agi_accountcode: \n"
    "agi_threadid: 140245331818240\n"
    "agi_arg_1: sales\n"
    "agi_arg_2: fr\n"
    "agi_arg_3: 30\n"
    "\n"
)


def main() -> None:
    options = _parse_options()
    server_cpu, client_cpu = _two_cores()
    parent_end, child_end = multiprocessing.get_context("fork").Pipe()
    loop_kind = options.loop
    server = multiprocessing.get_context("fork").Process(
        target=_server_process, args=(child_end, server_cpu, loop_kind), daemon=True
    )
    server.start()
    port = parent_end.recv()
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    load = _LoadGenerator(("127.0.0.1", port), options.concurrency)
    load.run(options.warmup, parent_end, options.seconds, options.sessions)
    server_figures = parent_end.recv()
    server.join(timeout=10)
    print(json.dumps(load.figures() | server_figures | _context(options, server_cpu, client_cpu)))


def _parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time (default 5)")
    parser.add_argument("--concurrency", type=int, default=20, help="sessions at a time")
    parser.add_argument("--sessions", type=int, default=0, help="stop after N (0: time)")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured start (s)")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    return parser.parse_args()


def _two_cores() -> tuple[int | None, int | None]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None  # one core: both share it, and the JSON says so
    return cores[0], cores[1]


def _context(options: argparse.Namespace, server_cpu: int | None, client_cpu: int | None) -> dict:
    return {
        "concurrency": options.concurrency,
        "server_cpu_affinity": [server_cpu] if server_cpu is not None else "shared",
        "client_cpu_affinity": [client_cpu] if client_cpu is not None else "shared",
        "commands_per_session": COMMANDS_PER_SESSION,
        "handler": HANDLER_SOURCE,
        "event_loop": options.loop,
        "python": platform.python_version(),
    }


# -- the server process ------------------------------------------------------------------------


def _server_process(control: Connection, cpu: int | None, loop_kind: str) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    if loop_kind == "uvloop":
        import uvloop  # only when asked for: the server must not need it

        uvloop.run(_serve(control))
    else:
        asyncio.run(_serve(control))


async def _serve(control: Connection) -> None:
    server = FastAgiServer({"route": build_benchmark_handler()})
    _, port = await server.start()
    control.send(port)
    loop = asyncio.get_running_loop()
    marks: list[float] = []
    received = asyncio.Event()

    def on_control() -> None:
        control.recv()
        marks.append(time.process_time())
        received.set()

    loop.add_reader(control.fileno(), on_control)
    while len(marks) < 2:  # "measure from now", then "stop"
        await received.wait()
        received.clear()
    loop.remove_reader(control.fileno())
    await server.stop()
    control.send(
        {
            "server_cpu_s": round(marks[1] - marks[0], 3),
            "server_sessions_total": server.stats.sessions_total,
            "server_sessions_failed": server.stats.sessions_failed,
            "server_protocol_errors": server.stats.protocol_errors,
            "server_active_after_stop": server.active_sessions,
        }
    )


# -- the load generator (plays Asterisk) -------------------------------------------------------


class _LoadGenerator:
    """Keeps `concurrency` sessions going with raw non-blocking sockets and epoll: no event loop."""

    def __init__(self, address: tuple[str, int], concurrency: int) -> None:
        self.address = address
        self.concurrency = concurrency
        self.epoll = select.epoll()
        # fd -> [socket, header sent at (ns), commands seen, first command at (ns)]
        self.open: dict[int, list] = {}
        self.started = 0
        self.completed = 0
        self.errors = 0
        self.latencies_ns: list[int] = []
        self.measuring = False
        self.window_s = 0.0

    def run(self, warmup: float, control: Connection, seconds: float, sessions: int) -> None:
        for _ in range(self.concurrency):
            self._start_session()
        self._loop_until(time.perf_counter() + warmup, None)
        control.send("measure")
        self.measuring, self.completed, self.latencies_ns = True, 0, []
        begin = time.perf_counter()
        self._loop_until(begin + seconds if not sessions else float("inf"), sessions or None)
        self.window_s = time.perf_counter() - begin
        self.measuring = False
        control.send("stop")
        self._drain()

    def _loop_until(self, deadline: float, sessions: int | None) -> None:
        poll, handle = self.epoll.poll, self._readable
        while time.perf_counter() < deadline:
            if sessions is not None and self.completed >= sessions:
                return
            for fd, _ in poll(0.1):
                handle(fd)

    def _drain(self) -> None:
        """Let the sessions under way finish, starting no new ones."""
        self.concurrency = 0
        deadline = time.perf_counter() + 5
        while self.open and time.perf_counter() < deadline:
            for fd, _ in self.epoll.poll(0.1):
                self._readable(fd)

    def _start_session(self) -> None:
        sock = socket.create_connection(self.address)
        sock.setblocking(False)
        header = HEADER_TEMPLATE.format(port=self.address[1], n=self.started).encode()
        self.started += 1
        self.open[sock.fileno()] = [sock, time.perf_counter_ns(), 0, 0]
        sock.send(header)
        self.epoll.register(sock.fileno(), select.EPOLLIN)

    def _readable(self, fd: int) -> None:
        state = self.open[fd]
        try:
            data = state[0].recv(4096)
        except ConnectionError:
            data, self.errors = b"", self.errors + 1
        if data:
            lines = data.count(b"\n")  # each command is one line; they come one at a time
            if state[2] == 0:
                state[3] = time.perf_counter_ns()
            state[2] += lines
            state[0].send(REPLY * lines)
            return
        self._finish(fd, state)

    def _finish(self, fd: int, state: list) -> None:
        self.epoll.unregister(fd)
        state[0].close()
        del self.open[fd]
        if state[2] != COMMANDS_PER_SESSION:
            self.errors += 1
        elif self.measuring:
            self.completed += 1
            self.latencies_ns.append(state[3] - state[1])
        if len(self.open) < self.concurrency:
            self._start_session()

    def figures(self) -> dict:
        latencies = sorted(self.latencies_ns)

        def percentile(p: float) -> float:
            if not latencies:
                return float("nan")
            return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] / 1e6, 3)

        return {
            "sessions_per_s": round(self.completed / self.window_s, 1),
            "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99),
            "sessions": self.completed,
            "seconds": round(self.window_s, 3),
            "errors": self.errors,
        }


if __name__ == "__main__":
    main()
