"""How many AGI sessions a second our FastAGI server completes on one core: prints one JSON line.

The server runs in its own process pinned to one core; this process, pinned to the other, plays Asterisk 16.
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
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agi_scripts.server import AgiSession, FastAgiServer, Handler


async def _routed_variables(session: AgiSession) -> None:
    await session.set_variables(
        {
            "SWITCHBOARD_CALL_ID": session.request.uniqueid,
            "SWITCHBOARD_RECORDING": "/recordings/2024/06/1718000000.42.wav",
            "SWITCHBOARD_TARGET": "PJSIP/op1042",
        }
    )


def _local_benchmark_handler(*_options: object) -> Handler:
    """The route script's one MSet of three variables and nothing else: the server's own cost."""
    return _routed_variables


def _route_handler_builder() -> tuple[Callable[..., Handler], str]:
    """The real route script when it offers a benchmark handler, else the local one."""
    try:
        from agi_scripts.route import build_benchmark_handler
    except ImportError:
        return _local_benchmark_handler, "local MSet of three variables (no agi_scripts.route.build_benchmark_handler)"
    return build_benchmark_handler, "agi_scripts.route.build_benchmark_handler"


COMMANDS_PER_SESSION = 1  # the route script's EXEC MSet of call id, recording and target
REPLY = b"200 result=1\n"
# What Asterisk 16's launch_netscript() and setup_env() write, in that order.
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
    "agi_dnid: 100\n"
    "agi_rdnis: unknown\n"
    "agi_context: from-trunk\n"
    "agi_extension: 100\n"
    "agi_priority: 2\n"
    "agi_enhanced: 0.0\n"
    "agi_accountcode: \n"
    "agi_threadid: 140245331818240\n"
    # The hotline's AGI(route,<hotline>,<menu digit>,<transfer>,<transfer extension>): a plain hotline call.
    "agi_arg_1: 100\n"
    "agi_arg_2: \n"
    "agi_arg_3: \n"
    "agi_arg_4: \n"
    "\n"
)


def main() -> None:
    load_before = round(os.getloadavg()[0], 2)  # other work on this machine skews every figure
    options = _parse_options()
    server_cpu, client_cpu = _two_cores()
    context = multiprocessing.get_context("fork")
    control, child_end = context.Pipe()
    server = context.Process(target=_server_process, args=(child_end, server_cpu, options), daemon=True)
    server.start()
    port = control.recv()
    if client_cpu is not None:
        os.sched_setaffinity(0, {client_cpu})
    load = _LoadGenerator(("127.0.0.1", port), options.concurrency)
    load.run(control, options.warmup, options.seconds, options.sessions)
    figures = load.figures() | control.recv()
    server.join(timeout=10)
    figures["server_cpu_us_per_session"] = round(1e6 * figures["server_cpu_s"] / max(figures["sessions"], 1), 1)
    figures |= {
        "concurrency": options.concurrency,
        "server_cpu_affinity": [server_cpu] if server_cpu is not None else "shared",
        "client_cpu_affinity": [client_cpu] if client_cpu is not None else "shared",
        "commands_per_session": COMMANDS_PER_SESSION,
        "handler": _local_benchmark_handler.__doc__ if options.local_handler else _route_handler_builder()[1],
        "event_loop": options.loop,
        "python": platform.python_version(),
        "load_average_1m_before": load_before,
    }
    print(json.dumps(figures))


def _parse_options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time (default 5)")
    parser.add_argument("--concurrency", type=int, default=20, help="sessions at a time (default 20)")
    parser.add_argument("--sessions", type=int, default=0, help="stop after this many sessions instead")
    parser.add_argument("--warmup", type=float, default=0.5, help="unmeasured start, in seconds")
    parser.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio", help="uvloop must be installed")
    parser.add_argument("--local-handler", action="store_true", help="measure the server alone")
    return parser.parse_args()


def _two_cores() -> tuple[int | None, int | None]:
    cores = sorted(os.sched_getaffinity(0))
    if len(cores) < 2:
        return None, None  # one core: both share it, and the JSON says so
    return cores[0], cores[1]


# -- the server process ---------------------------------------------------------------------------


def _server_process(control: Connection, cpu: int | None, options: argparse.Namespace) -> None:
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    build = _local_benchmark_handler if options.local_handler else _route_handler_builder()[0]
    server = FastAgiServer({"route": build()})
    if options.loop == "uvloop":
        import uvloop  # only when asked for: the server does not need it

        uvloop.run(_serve(server, control))
    else:
        asyncio.run(_serve(server, control))


async def _serve(server: FastAgiServer, control: Connection) -> None:
    _, port = await server.start()
    control.send(port)
    marks: list[os.times_result] = []
    message = asyncio.Event()

    def on_control() -> None:
        control.recv()
        marks.append(os.times())
        message.set()

    loop = asyncio.get_running_loop()
    loop.add_reader(control.fileno(), on_control)
    while len(marks) < 3:  # "measure" from now, "mark" the end, then "stop"
        await message.wait()
        message.clear()
    loop.remove_reader(control.fileno())
    await server.stop()
    begin, end = marks[0], marks[1]
    control.send(
        {
            "server_cpu_s": round(end.user + end.system - begin.user - begin.system, 3),
            "server_cpu_user_s": round(end.user - begin.user, 3),
            "server_cpu_system_s": round(end.system - begin.system, 3),
            "server_sessions_total": server.stats.sessions_total,
            "server_sessions_failed": server.stats.sessions_failed,
            "server_protocol_errors": server.stats.protocol_errors,
            "server_active_after_stop": server.active_sessions,
        }
    )


# -- the load generator, playing Asterisk ---------------------------------------------------------


class _LoadGenerator:
    """Keeps `concurrency` sessions going on raw non-blocking sockets and epoll: no event loop to pay for."""

    def __init__(self, address: tuple[str, int], concurrency: int) -> None:
        self.address = address
        self.concurrency = concurrency
        self.epoll = select.epoll()
        # fd -> [socket, header sent at (ns), commands seen, first command at (ns)]
        self.open: dict[int, list[Any]] = {}
        self.started = self.completed = self.errors = 0
        self.latencies_ns: list[int] = []
        self.measuring = False
        self.window_s = 0.0

    def run(self, control: Connection, warmup: float, seconds: float, sessions: int) -> None:
        for _ in range(self.concurrency):
            self._start_session()
        self._poll_until(time.perf_counter() + warmup, None)
        control.send("measure")
        self.measuring, self.completed, self.latencies_ns = True, 0, []
        begin = time.perf_counter()
        self._poll_until(begin + seconds if not sessions else float("inf"), sessions or None)
        self.window_s = time.perf_counter() - begin
        self.measuring = False
        control.send("mark")
        self.concurrency = 0  # let the sessions under way finish before the server stops
        self._poll_until(time.perf_counter() + 5, None)
        control.send("stop")

    def _poll_until(self, deadline: float, sessions: int | None) -> None:
        # Busy-poll (timeout 0): this core has nothing else to do, and in a VM waking a halted vCPU
        # costs each send() that must do it tens of microseconds, charged to the server's core.
        poll, readable, clock = self.epoll.poll, self._readable, time.perf_counter
        while clock() < deadline and (self.open or self.concurrency):
            if sessions is not None and self.completed >= sessions:
                return
            for fd, _ in poll(0):
                readable(fd)

    def _start_session(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)  # no getaddrinfo per call
        sock.connect(self.address)
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
            data = b""
        if data:
            lines = data.count(b"\n")  # one line per command, and a command waits for its reply
            if state[2] == 0:
                state[3] = time.perf_counter_ns()
            state[2] += lines
            state[0].send(REPLY * lines)
            return
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

    def figures(self) -> dict[str, Any]:
        latencies = sorted(self.latencies_ns)

        def percentile(fraction: float) -> float:
            if not latencies:
                return float("nan")
            return round(latencies[min(len(latencies) - 1, int(fraction * len(latencies)))] / 1e6, 3)

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
