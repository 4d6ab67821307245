"""The phone bank's doorbell, against a fake bank socket: it rings with an INVITE and ACKs the refusal.

The real bank (pjsua2) is exercised in tests/integration/test_lab_phones.py.
"""

from __future__ import annotations

import socket

from switchboard.lab.doorbell import Doorbell


def _header(message: str, name: str) -> str:
    return next(line for line in message.split("\r\n") if line.lower().startswith(name.lower() + ":"))


def test_ring_is_an_invite_and_a_refusal_is_acked_on_the_same_branch() -> None:
    """Given a ring refused with 500, the ACK reuses the INVITE's Via and takes the To tag."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as bank:
        bank.bind(("127.0.0.1", 0))
        bank.settimeout(5)
        bell = Doorbell(bank.getsockname()[1], "bell-user")
        try:
            bell.ring()
            invite, peer = bank.recvfrom(65535)
            text = invite.decode()
            assert text.startswith(f"INVITE {bell.uri} SIP/2.0\r\n")
            to = _header(text, "To") + ";tag=bank1"
            reply = [
                "SIP/2.0 500 Server Internal Error",
                _header(text, "Via"),
                _header(text, "From"),
                to,
                _header(text, "Call-ID"),
                "CSeq: 1 INVITE",
                "Content-Length: 0",
            ]
            bank.sendto(("\r\n".join(reply) + "\r\n\r\n").encode(), peer)
            ack = bank.recvfrom(65535)[0].decode()
        finally:
            bell.close()
    assert ack.startswith(f"ACK {bell.uri} SIP/2.0\r\n")
    assert _header(ack, "Via") == _header(text, "Via")
    assert _header(ack, "To") == to
    assert _header(ack, "CSeq") == "CSeq: 1 ACK"
