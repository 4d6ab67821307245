"""Free loopback ports, picked at run time for every real part the lab starts.

A port is checked free for both TCP and UDP so one number can serve either.
"""

from __future__ import annotations

import random
import socket

_taken: set[int] = set()


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


def free_range(size: int, low: int = 20000, high: int = 59000) -> tuple[int, int]:
    """A block of `size` consecutive free UDP ports (for RTP), as (first, last)."""
    rng = random.Random()
    for _ in range(100):
        start = rng.randrange(low, high - size) & ~1
        ports = range(start, start + size)
        if not any(p in _taken for p in ports) and all(_free(p) for p in ports[:: max(1, size // 16)]):
            _taken.update(ports)
            return start, start + size - 1
    raise OSError(f"no block of {size} free ports found")
