"""A chunk of records made into leads at once: values checked, numbers normalised, zones, consent, custom fields.

Columnar (polars) because a purchased list has a million rows; `LeadBatch.rows()` gives the same as LeadRow values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import polars as pl

from dialer.leads.consent import parse_consent, parse_date
from dialer.leads.headers import Column, HeaderMap
from dialer.leads.model import MAX_LENGTH, TEXT_FIELDS, Field, LeadRow, Reason, Rejection
from dialer.leads.phones import zones_json
from dialer.leads.phones_bulk import normalise_numbers
from dialer.leads.records import Record
from dialer.leads.zones import zone_for_city, zone_for_region, zone_from_text

LEAD_SCHEMA: dict[str, type[pl.DataType] | pl.DataType] = {
    "line": pl.Int64,
    "phone_e164": pl.String,
    "alt_phones": pl.String,  # JSON list of E.164, or null
    **{f.value: pl.String for f in TEXT_FIELDS},
    "time_zones": pl.String,  # JSON list of IANA names
    "consent": pl.Boolean,
    "consent_at": pl.String,
    "custom": pl.String,  # JSON object, or null
}
_NULL_TEXT = pl.lit(None, pl.String)


@dataclass(frozen=True, slots=True)
class LeadBatch:
    """The usable rows of a chunk as a frame (LEAD_SCHEMA), and the refused ones."""

    leads: pl.DataFrame
    rejections: tuple[Rejection, ...]

    def rows(self) -> Iterator[LeadRow]:
        return (LeadRow.from_columns(row) for row in self.leads.iter_rows(named=True))


def prepare_batch(records: Sequence[Record], header: HeaderMap, region: str) -> LeadBatch:
    """The records of one chunk (after the header) as leads and rejections; blank records are dropped."""
    frame, rejections = records_frame(records, header.width)
    batch = prepare_frame(frame, header, region)
    return LeadBatch(batch.leads, tuple(sorted([*rejections, *batch.rejections], key=lambda r: r.line)))


def prepare_frame(frame: pl.DataFrame, header: HeaderMap, region: str) -> LeadBatch:
    """A frame of raw cells (line, c0 .. c{width-1}) as leads and rejections; blank rows are dropped."""
    frame = _trimmed(frame, header.width)
    if frame.height == 0:
        return LeadBatch(pl.DataFrame(schema=LEAD_SCHEMA), ())
    frame = frame.with_columns(_value_problem(frame, header).alias("problem"))
    frame = _with_phones(frame, header, region)
    frame = frame.with_columns(
        pl.coalesce(pl.col("problem"), pl.col("phone_problem")).alias("problem"),
        _zones(header).alias("time_zones"),
        _custom(header).alias("custom"),
        *(_text(header.column(f)).alias(f.value) for f in TEXT_FIELDS),
    )
    frame = _with_consent(frame, header)
    rejections = []
    for line, problem in frame.filter(pl.col("problem").is_not_null()).select("line", "problem").iter_rows():
        reason, _, detail = problem.partition("|")
        rejections.append(Rejection(line, Reason(reason), detail))
    leads = frame.filter(pl.col("problem").is_null()).select(list(LEAD_SCHEMA)).cast(LEAD_SCHEMA)  # type: ignore[arg-type]
    return LeadBatch(leads, tuple(sorted(rejections, key=lambda r: r.line)))


def records_frame(records: Sequence[Record], width: int) -> tuple[pl.DataFrame, list[Rejection]]:
    """Records as a frame of raw cells (line, c0 .. c{width-1}), and the rows with more filled cells than headers.

    Short rows are padded (exports drop trailing empty cells); extra empty cells are dropped.
    """
    cells: list[list[str]] = []
    lines: list[int] = []
    rejections: list[Rejection] = []
    for line, row in records:
        if len(row) != width:
            if len(row) < width:
                row = row + [""] * (width - len(row))
            elif any(extra.strip() for extra in row[width:]):
                detail = f"{len(row)} fields where the header has {width} (a delimiter inside an unquoted value?)"
                rejections.append(Rejection(line, Reason.BAD_ROW, detail))
                continue
            else:
                row = row[:width]
        cells.append(row)
        lines.append(line)
    columns = list(zip(*cells, strict=True)) if cells else [() for _ in range(width)]
    data: dict[str, object] = {"line": pl.Series(lines, dtype=pl.Int64)}
    data.update({f"c{i}": pl.Series(columns[i], dtype=pl.String) for i in range(width)})
    return pl.DataFrame(data), rejections


# What Python's str.strip() takes away (Unicode white space and the ASCII separators \x1c-\x1f): polars' default
# would keep \x1c-\x1f, and a cell of nothing else would count as a row here but as blank everywhere else.
WHITE_SPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)


def _trimmed(frame: pl.DataFrame, width: int) -> pl.DataFrame:
    """Values without surrounding white space, empty ones null; rows with nothing left dropped."""
    trimmed = [pl.col(f"c{i}").str.strip_chars(WHITE_SPACE) for i in range(width)]
    frame = frame.with_columns(pl.when(c != "").then(c).alias(f"c{i}") for i, c in enumerate(trimmed))
    return frame.filter(pl.any_horizontal(pl.col(f"c{i}").is_not_null() for i in range(width)))


def _problem(reason: Reason, *parts: pl.Expr | str) -> pl.Expr:
    pieces = [pl.lit(p) if isinstance(p, str) else p.cast(pl.String) for p in parts]
    return pl.concat_str([pl.lit(reason.value + "|"), *pieces])


def _value_problem(frame: pl.DataFrame, header: HeaderMap) -> pl.Expr:
    """The first value too long (or holding a NUL, which no database column takes), naming its column.

    Only columns that can hold such a value are checked: a column whose longest value in bytes is within the limit
    (characters are never more than bytes) and without a NUL needs no check per row.
    """
    columns = [c for c in header.columns if c.field is not Field.IGNORE]
    values = [pl.col(f"c{c.index}") for c in columns]
    summary = frame.select(
        *(v.str.len_bytes().max().alias(f"long{i}") for i, v in enumerate(values)),
        *(v.str.contains("\x00", literal=True).any().alias(f"nul{i}") for i, v in enumerate(values)),
    ).row(0, named=True)
    problem = _NULL_TEXT
    for i, column in reversed(list(enumerate(columns))):
        value, limit, name = values[i], MAX_LENGTH[column.field], _name(column)
        if (summary[f"long{i}"] or 0) > limit:
            size = value.str.len_chars()
            too_long = _problem(Reason.TOO_LONG, f"{name} has ", size, f" characters (at most {limit})")
            problem = pl.when(size > limit).then(too_long).otherwise(problem)
        if summary[f"nul{i}"]:
            nul = _problem(Reason.BAD_ROW, f"{name} holds a NUL character")
            problem = pl.when(value.str.contains("\x00", literal=True)).then(nul).otherwise(problem)
    return problem


def _name(column: Column) -> str:
    return repr(column.header) if column.header else f"column {column.index + 1}"


def _with_phones(frame: pl.DataFrame, header: HeaderMap, region: str) -> pl.DataFrame:
    """phone_e164 (the first valid number), its zones, alt_phones (JSON) and phone_problem."""
    columns = header.phones
    found = [normalise_numbers(frame.get_column(f"c{c.index}"), region) for c in columns]
    frame = frame.with_columns(
        *(f.get_column("e164").alias(f"e164_{k}") for k, f in enumerate(found)),
        *(f.get_column("zones").alias(f"zones_{k}") for k, f in enumerate(found)),
    )
    e164 = [pl.col(f"e164_{k}") for k in range(len(found))]
    alternates: list[pl.Expr | pl.Series] = list(e164)
    for k, f in enumerate(found):
        if f.get_column("more").null_count() < f.height:
            more = f.get_column("more").fill_null("[]")  # a null list would make the whole concatenation null
            alternates.append(more.str.json_decode(pl.List(pl.String)).alias(f"more_{k}"))
    alt_phones: pl.Expr = _NULL_TEXT  # one phone column with one number a cell (the usual list): no alternates
    if len(alternates) > 1:
        everyone = pl.concat_list(alternates).list.drop_nulls().list.unique(maintain_order=True).list.slice(1)
        alt_phones = pl.when(everyone.list.len() > 0).then(
            pl.concat_str(pl.lit('["'), everyone.list.join('", "'), pl.lit('"]'))
        )
    raw = [pl.col(f"c{c.index}") for c in columns]
    first_raw = pl.coalesce(*(pl.format("{} = '{}'", pl.lit(_name(c)), r) for c, r in zip(columns, raw, strict=True)))
    problem = (
        pl.when(pl.coalesce(*e164).is_not_null())
        .then(_NULL_TEXT)
        .when(pl.all_horizontal(r.is_null() for r in raw))
        .then(pl.lit(Reason.NO_PHONE.value + "|"))
        .otherwise(_problem(Reason.INVALID_NUMBER, first_raw))
    )
    return frame.with_columns(
        phone_e164=pl.coalesce(*e164),
        number_zones=pl.coalesce(*(pl.col(f"zones_{k}") for k in range(len(found)))),
        alt_phones=alt_phones,
        phone_problem=problem,
    )


def _mapped(column: Column | None, parse: Callable[[str], str | None]) -> pl.Expr:
    """A column's distinct values through `parse`, as zone JSON (null where it says nothing)."""
    if column is None:
        return _NULL_TEXT
    value = pl.col(f"c{column.index}")
    return value.map_batches(lambda s: _lookup(s, parse), return_dtype=pl.String)


def _lookup(values: pl.Series, parse: Callable[[str], str | None]) -> pl.Series:
    table = {v: zones_json((z,)) for v in values.drop_nulls().unique().to_list() if (z := parse(v)) is not None}
    return values.replace_strict(table, default=None, return_dtype=pl.String)


def _zones(header: HeaderMap) -> pl.Expr:
    """An explicit zone column, else the region's zone, else the city's, else the number's."""
    return pl.coalesce(
        _mapped(header.column(Field.TIMEZONE), zone_from_text),
        _mapped(header.column(Field.REGION), zone_for_region),
        _mapped(header.column(Field.CITY), zone_for_city),
        pl.col("number_zones"),
    )


def _text(column: Column | None) -> pl.Expr:
    return pl.col(f"c{column.index}") if column is not None else _NULL_TEXT


def _custom(header: HeaderMap) -> pl.Expr:
    """The unknown columns as one JSON object per row (only the filled ones), or null."""
    if len(header.custom) == 1:  # the usual comment column: its object at once, five times quicker than the pieces
        value = pl.col(f"c{header.custom[0].index}")
        return pl.when(value.is_not_null()).then(pl.struct(value.alias(header.custom[0].key)).struct.json_encode())
    pieces = [
        pl.when(pl.col(f"c{c.index}").is_not_null()).then(
            pl.struct(pl.col(f"c{c.index}").alias(c.key)).struct.json_encode().str.slice(1).str.strip_suffix("}")
        )
        for c in header.custom
    ]
    if not pieces:
        return _NULL_TEXT
    joined = pl.concat_str(pieces, separator=",", ignore_nulls=True)
    return pl.when(joined.is_not_null() & (joined != "")).then(pl.concat_str(pl.lit("{"), joined, pl.lit("}")))


def _with_consent(frame: pl.DataFrame, header: HeaderMap) -> pl.DataFrame:
    """consent (yes/no, a date means yes) and consent_at (ISO 8601 when it reads as a date, else as written)."""
    flag, given_at = pl.lit(None, pl.Boolean), _NULL_TEXT
    column = header.column(Field.CONSENT)
    if column is not None:
        values = frame.get_column(f"c{column.index}")
        parsed = {v: parse_consent(v) for v in values.drop_nulls().unique().to_list()}
        flag = pl.lit(
            values.replace_strict({k: v[0] for k, v in parsed.items()}, default=None, return_dtype=pl.Boolean)
        )
        given_at = pl.lit(
            values.replace_strict({k: v[1] for k, v in parsed.items()}, default=None, return_dtype=pl.String)
        )
    stated_at = _NULL_TEXT
    column = header.column(Field.CONSENT_AT)
    if column is not None:
        values = frame.get_column(f"c{column.index}")
        dates = {v: parse_date(v) or v for v in values.drop_nulls().unique().to_list()}
        stated_at = pl.lit(values.replace_strict(dates, default=None, return_dtype=pl.String))
    consent_at = pl.coalesce(stated_at, given_at)
    return frame.with_columns(
        consent=pl.coalesce(flag, pl.when(consent_at.is_not_null()).then(pl.lit(True))),
        consent_at=consent_at,
    )
