"""Personal data rules shared by every module: how a phone number appears in logs.

Numbers are masked in logs; the SQL store keeps them whole for the people allowed to see them.
"""

from __future__ import annotations


def mask_number(number: str | None, keep: int = 2) -> str:
    """All but the last `keep` characters replaced by '*', so logs never carry a whole number."""
    if not number:
        return "-"
    shown = number[-keep:] if len(number) > keep else ""
    return "*" * (len(number) - len(shown)) + shown
