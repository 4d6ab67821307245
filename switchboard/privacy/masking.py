"""How a phone number appears in logs: masked, by hand (`mask_number`) and as a safety net (`MaskNumbersFilter`).

Numbers are masked in logs; the SQL store keeps them whole for the people allowed to see them.
"""

from __future__ import annotations

import logging
import re

# What reads as a phone number in free text. A '+' then 7 to 15 digits in any spacing ('+7 912 345-67-89');
# a bare run of 10 to 15 digits ('89123456789'); a national number with its area code in brackets
# ('8 (912) 345-67-89'). Not a digit run glued to a '.' and more digits (an Asterisk uniqueid '1712345678.42',
# a float), nor one after a '-' (a UUID's last group: our call ids), nor one inside a word. Short runs (ports,
# durations, dates) are left alone.
_NUMBER_IN_TEXT = re.compile(
    r"(?<![\w+])\+\d(?:[ \-()]{0,2}\d){6,14}(?![\w])"
    r"|(?<![\w.+-])\d{10,15}(?![\w]|\.\d)"
    r"|(?<![\w.+])(?:\d[ \-]?)?\(\d{2,5}\)[ \-]?\d(?:[ \-]?\d){4,9}(?![\w]|\.\d)"
)


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


def mask_text(text: str) -> str:
    """`text` with every phone-number-like run masked as mask_number does it; the rest unchanged."""
    return _NUMBER_IN_TEXT.sub(lambda found: mask_number(found.group()), text)


class MaskNumbersFilter(logging.Filter):
    """Masks phone numbers in every record a handler emits: message, arguments, traceback and stack.

    Code that logs a number should still call mask_number itself; this catches the numbers nobody thought of
    (an exception's text, a third-party library's message). Attach it to handlers, not loggers: a logger's
    filters do not see records its children pass up.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message or record.args:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True


def install_log_masking(logger: logging.Logger | None = None) -> None:
    """Put a MaskNumbersFilter on every handler of `logger` (the root logger by default); safe to call twice."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(existing, MaskNumbersFilter) for existing in handler.filters):
            handler.addFilter(MaskNumbersFilter())
