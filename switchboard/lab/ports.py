"""Free loopback ports, picked at run time for every real part the lab starts.

A port is checked free for both TCP and UDP so one number can serve either.
"""

from __future__ import annotations

import random
import socket

_taken: set[int] = set()
_next_block = -1  # free_range's turn; -1: not started (a random first block, so processes side by side differ)


def _free(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_port() -> int:
    """A loopback port free for TCP and UDP, not handed out before by this process."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
        if port not in _taken and _free(port):
            _taken.add(port)
            return port
    raise OSError("no free loopback port found")


def free_range(size: int, low: int = 10000, high: int = 32000) -> tuple[int, int]:
    """A block of `size` consecutive free UDP ports (for RTP), as (first, last).

    Blocks are handed out in turn from below Linux's ephemeral range (32768 up, where free_port's picks land), so
    two labs of one process never share one; after the last block the turn starts again from the first, by then
    long released. A block found in use is passed over. Nothing is remembered per block: a test run that builds
    a site for every test must not run out.
    """
    global _next_block
    blocks = (high - low) // size
    if _next_block < 0:
        _next_block = random.Random().randrange(blocks)
    for _ in range(blocks):
        start = low + (_next_block % blocks) * size
        _next_block += 1
        ports = range(start, start + size)
        if not any(p in _taken for p in ports) and all(_free(p) for p in ports[:: max(1, size // 16)]):
            return start, start + size - 1
    raise OSError(f"no block of {size} free ports found between {low} and {high}")
