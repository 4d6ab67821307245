"""Spreadsheet-safe text: the store keeps what the file said; every exporter escapes on the way out.

Why raw in the store: a search for '+7912...' or '-' must find what was imported, and a value escaped for
Excel is wrong everywhere else (the web console, the operator's screen, the dialer). A cell that starts
with '=', '+', '-', '@', a tab or a CR would be run as a formula by Excel or LibreOffice when a CSV or
XLSX export is opened, so exporters pass every text cell through `spreadsheet_safe` (OWASP's advice).
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: str) -> bool:
    return value.startswith(FORMULA_STARTS)


def spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet will show as text: a leading quote before '=', '+', '-', '@', tab or CR.

    Numbers and None pass as they are: only text can hold a formula.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def spreadsheet_safe_row(values: Iterable[object]) -> list[object]:
    """Every cell of an exported row made safe (see `spreadsheet_safe`)."""
    return [spreadsheet_safe(v) for v in values]
