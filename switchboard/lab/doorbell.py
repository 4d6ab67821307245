"""A loopback "doorbell" that wakes the phone bank's pjsip worker thread by calling it.

Pure Python (no pjsua2): it sends a tiny INVITE to the bank's own SIP port and ACKs the refusal.
"""

from __future__ import annotations

import collections
import itertools
import socket
import threading
import uuid

# Why a doorbell at all: this pjsua2 wheel never releases the GIL inside a pjsua2 call, while
# pjsip's worker thread takes pjsua's global lock *before* it asks for the GIL to run a Python
# callback (on_incoming_call does exactly that). A pjsua2 call made from any other thread can
# therefore deadlock the bank forever. So every pjsua2 call is made inside a callback on the
# worker thread itself, and this doorbell is how the other threads get such a callback on demand.


# Rings are remembered a while so a retransmitted refusal (our ACK lost) is ACKed again.
_REMEMBERED_RINGS = 256


class Doorbell:
    """Rings a pjsua account on 127.0.0.1 with an INVITE; a reader thread ACKs the final reply."""

    def __init__(self, bank_port: int, user: str) -> None:
        self._bank_port = bank_port
        self._user = user
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self._port: int = self._sock.getsockname()[1]
        self._pending: collections.OrderedDict[str, tuple[str, str]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._counter = itertools.count(1)
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="doorbell-acks", daemon=True)
        self._reader.start()

    @property
    def uri(self) -> str:
        """The Request-URI a ring is sent to (the doorbell account's identity)."""
        return f"sip:{self._user}@127.0.0.1:{self._bank_port}"

    def ring(self) -> None:
        """Send one INVITE; the bank answers it with a refusal after running its jobs."""
        n = next(self._counter)
        call_id = f"{uuid.uuid4().hex}@doorbell"
        via = f"Via: SIP/2.0/UDP 127.0.0.1:{self._port};rport;branch=z9hG4bK{uuid.uuid4().hex}"
        from_ = f"From: <sip:doorbell@127.0.0.1:{self._port}>;tag=bell{n}"
        with self._lock:
            self._pending[call_id] = (via, from_)
            while len(self._pending) > _REMEMBERED_RINGS:
                self._pending.popitem(last=False)
        lines = [
            f"INVITE {self.uri} SIP/2.0",
            via,
            "Max-Forwards: 70",
            from_,
            f"To: <{self.uri}>",
            f"Call-ID: {call_id}",
            "CSeq: 1 INVITE",
            f"Contact: <sip:doorbell@127.0.0.1:{self._port}>",
            "Content-Length: 0",
        ]
        self._send(lines)

    def close(self) -> None:
        """Stop the reader and free the socket."""
        self._closed = True
        try:
            self._sock.sendto(b"", ("127.0.0.1", self._port))
        except OSError:
            pass
        self._reader.join(timeout=2)
        self._sock.close()

    def _send(self, lines: list[str]) -> None:
        data = ("\r\n".join(lines) + "\r\n\r\n").encode()
        self._sock.sendto(data, ("127.0.0.1", self._bank_port))

    def _read(self) -> None:
        while not self._closed:
            try:
                data = self._sock.recv(65535)
            except OSError:
                return
            if data:
                self._on_response(data.decode("utf-8", "replace"))

    def _on_response(self, text: str) -> None:
        lines = text.split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("SIP/") or not parts[1].isdigit():
            return
        if int(parts[1]) < 300:
            return  # 100 Trying; the bank never accepts a ring
        headers = {h.split(":", 1)[0].strip().lower(): h for h in lines[1:] if ":" in h}
        call_id = headers.get("call-id", ":").split(":", 1)[1].strip()
        with self._lock:
            sent = self._pending.get(call_id)
        if sent is None or "to" not in headers:
            return
        via, from_ = sent
        # The ACK of a refusal reuses the INVITE's branch so pjsip stops retransmitting it.
        ack = [f"ACK {self.uri} SIP/2.0", via, "Max-Forwards: 70", from_, headers["to"]]
        ack += [f"Call-ID: {call_id}", "CSeq: 1 ACK", "Content-Length: 0"]
        self._send(ack)
