"""Personal data rules shared by every module: how a phone number appears in logs.

Numbers are masked in logs; the SQL store keeps them whole for the people allowed to see them.
"""

from __future__ import annotations


def mask_number(number: str | None, keep: int = 2) -> str:
    """Every digit but the last `keep` replaced by '*': enough to match a complaint, not enough to call back."""
    if not number:
        return "-"
    hidden = sum(ch.isdigit() for ch in number) - keep
    masked = []
    for ch in number:
        if ch.isdigit():
            hidden -= 1
            if hidden >= 0:
                ch = "*"
        masked.append(ch)
    return "".join(masked)
