"""The lab's ports: RTP blocks handed out in turn below the ephemeral range, never running out in a long test run."""

from __future__ import annotations

from switchboard.lab.ports import free_port, free_range


def test_a_thousand_sites_never_run_out_of_rtp_blocks() -> None:
    """A test run builds a lab site per test: the blocks come round again instead of being used up."""
    blocks = [free_range(200) for _ in range(1000)]
    assert all(first >= 10000 and last < 32000 and last - first == 199 for first, last in blocks)


def test_consecutive_blocks_do_not_overlap_and_stay_clear_of_single_ports() -> None:
    """Two labs started one after the other get different blocks; free_port's picks are in the ephemeral range."""
    (a, a_end), (b, b_end) = free_range(200), free_range(200)
    assert a_end < b or b_end < a
    assert free_port() >= 32000  # Linux's ephemeral ports start at 32768 by default
