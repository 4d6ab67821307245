"""Phone numbers in bulk: phonenumbers' own rules and metadata applied as vectorised polars expressions.

Exact by construction: each step mirrors phonenumbers.parse / is_valid_number / time_zones_for_number, and a value
whose shape or prefix the mirror does not cover goes to phonenumbers itself (`phones.normalise_cell`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from typing import Any, cast

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata, PhoneNumberDesc, PhoneNumberType
from phonenumbers.tzdata import TIMEZONE_DATA, TIMEZONE_LONGEST_PREFIX

from dialer.leads.phones import Number, normalise_cell, zones_json

# Digits with the punctuation phonenumbers ignores, an optional leading '+': no letters, extensions or 2nd numbers.
_FAST_SHAPE = r"^(?:\+[ \u00a0]*)?[0-9(][0-9 \u00a0().\-]*$"
_PUNCTUATION = ["+", " ", "\u00a0", "(", ")", ".", "-"]  # what the fast shape allows besides digits
_MIN_NSN, _MAX_NSN = 2, 17  # phonenumbers' _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN
_CC = {str(cc): regions for cc, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items() if "001" not in regions}
_BEFORE_FIXED = ("premium_rate", "toll_free", "shared_cost", "voip", "personal_number", "pager", "uan", "voicemail")
_GEOGRAPHIC = (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
OUTPUT = {"e164": pl.String, "zones": pl.String, "more": pl.String}


def normalise_numbers(values: pl.Series, region: str) -> pl.DataFrame:
    """For each value: e164 (null when there is no valid number), zones (JSON list), more (JSON list or null).

    `more` holds further numbers written in the same cell. Empty values give nulls.
    """
    frame = pl.DataFrame({"raw": values.cast(pl.String)}).with_row_index("i")
    frame = frame.with_columns(fast=pl.col("raw").str.contains(_FAST_SHAPE).fill_null(False))
    fast = frame.filter(pl.col("fast")).with_columns(
        plus=pl.col("raw").str.starts_with("+"),
        # The fast shape holds digits and these only: literal replacements are twice as quick as a regex.
        digits=pl.col("raw").str.replace_many(_PUNCTUATION, [""] * len(_PUNCTUATION)),
    )
    coded = pl.concat([_plus_codes(fast.filter(pl.col("plus"))), _home_codes(fast.filter(~pl.col("plus")), region)])
    parts: list[pl.DataFrame] = []
    left = [frame.filter(~pl.col("fast")).select("i", "raw"), coded.filter(pl.col("cc").is_null()).select("i", "raw")]
    for (cc,), rows in coded.filter(pl.col("cc").is_not_null()).group_by("cc"):
        decided, unsure = _by_country(rows, str(cc))
        parts.append(decided)
        left.append(unsure)
    rest = pl.concat(left)
    nothing = {name: pl.lit(None, kind) for name, kind in OUTPUT.items()}
    parts.append(rest.filter(pl.col("raw").is_null() | (pl.col("raw") == "")).select("i", **nothing))
    parts.append(_exactly(rest.filter(pl.col("raw").is_not_null() & (pl.col("raw") != "")), region))
    return pl.concat([p.select("i", *OUTPUT) for p in parts]).sort("i").select(list(OUTPUT))


def _exactly(rows: pl.DataFrame, region: str) -> pl.DataFrame:
    """phonenumbers itself, once per distinct value, for the shapes the vectorised path leaves."""
    if rows.height == 0:
        return pl.DataFrame(schema={"i": pl.UInt32, **OUTPUT})
    found: dict[str, tuple[str | None, str | None, str | None]] = {}
    for raw in rows.get_column("raw").unique().to_list():
        found[raw] = _as_columns(normalise_cell(raw, region))
    e164, zones, more = zip(*(found[r] for r in rows.get_column("raw").to_list()), strict=True)
    return pl.DataFrame(
        {"i": rows.get_column("i"), "e164": list(e164), "zones": list(zones), "more": list(more)},
        schema={"i": pl.UInt32, **OUTPUT},
    )


def _as_columns(numbers: Sequence[Number]) -> tuple[str | None, str | None, str | None]:
    if not numbers:
        return None, None, None
    more = json.dumps([n.e164 for n in numbers[1:]]) if len(numbers) > 1 else None
    return numbers[0].e164, zones_json(numbers[0].zones), more


# -- country calling code and national number, as phonenumbers.parse finds them ---------------------------------


def _plus_codes(rows: pl.DataFrame) -> pl.DataFrame:
    """'+' numbers: the shortest known calling code (1 to 3 digits) and the rest (null cc: left to phonenumbers)."""
    digits = pl.col("digits")
    heads = [digits.str.slice(0, width) for width in (1, 2, 3)]
    known = list(_CC)
    cc = pl.when(heads[0].is_in(known)).then(heads[0]).when(heads[1].is_in(known)).then(heads[1])
    cc = cc.when(heads[2].is_in(known)).then(heads[2])
    rows = rows.with_columns(cc=pl.when(digits.str.len_bytes() > _MIN_NSN).then(cc))
    return rows.select("i", "raw", "cc", nsn_raw=digits.str.slice(pl.col("cc").str.len_bytes()))


def _home_codes(rows: pl.DataFrame, region: str) -> pl.DataFrame:
    """Numbers without '+': the default region's code, stripped from the front when parse would strip it."""
    home = _meta(region)
    home_cc = str(home.country_code)
    digits = pl.col("digits")
    rows = rows.with_columns(starts=digits.str.starts_with(home_cc), pot=digits.str.slice(len(home_cc)))
    rows = _strip_prefix(rows, "pot", region)
    general = home.general_desc
    whole_fits = _matches_pattern(digits, general)
    extract = ~whole_fits & _matches_pattern(pl.col("pot_stripped"), general) | _too_long(digits, home)
    unsure = pl.col("pot_unsure") & pl.col("starts")
    if home.international_prefix:  # an international prefix dialled from home ('810...', '00...'): phonenumbers
        unsure = unsure | digits.str.contains(f"^(?:{home.international_prefix})")
    return rows.select(
        "i",
        "raw",
        cc=pl.when(unsure).then(pl.lit(None, pl.String)).otherwise(pl.lit(home_cc)),
        nsn_raw=pl.when(pl.col("starts") & extract).then(pl.col("pot_stripped")).otherwise(digits),
    )


def _by_country(rows: pl.DataFrame, cc: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One calling code's rows: decided (e164 and zones, null e164 when invalid), and those left to phonenumbers."""
    regions = _CC[cc]
    rows = _strip_prefix(rows, "nsn_raw", regions[0])
    unsure = rows.filter(pl.col("nsn_raw_unsure")).select("i", "raw")
    nsn = pl.col("nsn_raw_stripped")
    rows = rows.filter(~pl.col("nsn_raw_unsure"))
    rows = rows.with_columns(nsn=pl.when(nsn.str.len_bytes().is_between(_MIN_NSN, _MAX_NSN)).then(nsn))
    unknown = pl.lit(int(PhoneNumberType.UNKNOWN))
    if len(regions) == 1:
        rows = rows.with_columns(kind=_number_type("nsn", regions[0]))
    else:
        rows = rows.with_columns(region=_region_of("nsn", cc))
        parts = [rows.filter(pl.col("region").is_null()).with_columns(kind=unknown)]
        for (code,), part in rows.filter(pl.col("region").is_not_null()).group_by("region"):
            parts.append(part.with_columns(kind=_number_type("nsn", str(code))))
        rows = pl.concat(parts)
    valid = pl.col("kind") != unknown
    rows = rows.with_columns(e164=pl.when(valid).then(pl.concat_str(pl.lit("+" + cc), pl.col("nsn"))))
    rows = rows.with_columns(zones=pl.when(valid).then(_zones(cc)))
    return rows.select("i", "e164", "zones", more=pl.lit(None, pl.String)), unsure


# The expressions below depend only on column names and phonenumbers' metadata: each is built once per process
# (a big calling code's take milliseconds to build, for every batch of every file).


@cache
def _region_of(column: str, cc: str) -> pl.Expr:
    """phonenumbers' _region_code_for_number_from_list: leading digits, else the first region the number fits."""
    regions = _CC[cc]
    if len(regions) == 1:
        return pl.lit(regions[0])
    nsn = pl.col(column)
    chosen = pl.lit(None, pl.String)
    for code in reversed(regions):
        meta = _meta(code)
        if meta.leading_digits is not None:
            fits = nsn.str.contains(f"^(?:{meta.leading_digits})")
        else:
            fits = _number_type(column, code) != int(PhoneNumberType.UNKNOWN)
        chosen = pl.when(fits).then(pl.lit(code)).otherwise(chosen)
    return chosen


def _strip_prefix(rows: pl.DataFrame, column: str, region: str) -> pl.DataFrame:
    """Adds COLUMN_stripped (the national prefix stripped as parse strips it) and COLUMN_unsure."""
    return rows.with_columns(*_stripped(column, region))


@cache
def _stripped(column: str, region: str) -> tuple[pl.Expr, pl.Expr]:
    """COLUMN_stripped and COLUMN_unsure for `_strip_prefix`.

    A prefix of plain digits ('8', '0') is mirrored; a regular expression with carrier codes or a transform
    rule is left to phonenumbers whenever it matches at all.
    """
    meta = _meta(region)
    number = pl.col(column)
    prefix = meta.national_prefix_for_parsing
    if not prefix:
        return number.alias(f"{column}_stripped"), pl.lit(False).alias(f"{column}_unsure")
    if not re.fullmatch(r"\d+", prefix) or meta.national_prefix_transform_rule:
        unsure = number.str.contains(f"^(?:{prefix})").fill_null(False)
        return number.alias(f"{column}_stripped"), unsure.alias(f"{column}_unsure")
    rest = number.str.slice(len(prefix))
    general = meta.general_desc
    keep_whole = _matches_pattern(number, general) & ~_matches_pattern(rest, general)
    strip = number.str.starts_with(prefix) & ~keep_whole & _length_allows(rest, meta)
    stripped = pl.when(strip).then(rest).otherwise(number)
    return stripped.alias(f"{column}_stripped"), pl.lit(False).alias(f"{column}_unsure")


def _lengths(meta: PhoneMetadata) -> tuple[list[int], list[int]]:
    general = meta.general_desc
    assert general is not None
    return list(general.possible_length), list(general.possible_length_local_only or ())


def _length_allows(number: pl.Expr, meta: PhoneMetadata) -> pl.Expr:
    """_test_number_length(number) is IS_POSSIBLE or TOO_LONG (what parse needs to keep a stripped number)."""
    lengths, local = _lengths(meta)
    size = number.str.len_bytes().cast(pl.Int64)
    possible = (size == lengths[0]) | ((size > lengths[0]) & ((size > lengths[-1]) | size.is_in(lengths[1:])))
    return possible & ~size.is_in(local)


def _too_long(number: pl.Expr, meta: PhoneMetadata) -> pl.Expr:
    lengths, local = _lengths(meta)
    size = number.str.len_bytes().cast(pl.Int64)
    return (size > lengths[-1]) & (size != lengths[0]) & ~size.is_in(local)


# -- number types and time zones --------------------------------------------------------------------------------


def _matches_pattern(number: pl.Expr, desc: PhoneNumberDesc | None) -> pl.Expr:
    """_match_national_number: the whole number fits the pattern (lengths not checked)."""
    if desc is None or not desc.national_number_pattern:
        return pl.lit(False)
    return number.str.contains(f"^(?:{desc.national_number_pattern})$").fill_null(False)


def _matches_desc(number: pl.Expr, desc: PhoneNumberDesc | None) -> pl.Expr:
    """_is_number_matching_desc: one of the possible lengths, and the pattern."""
    if desc is None:
        return pl.lit(False)
    fits = _matches_pattern(number, desc)
    if desc.possible_length:
        fits = fits & number.str.len_bytes().cast(pl.Int64).is_in(list(desc.possible_length))
    return fits


@cache
def _number_type(column: str, region: str) -> pl.Expr:
    """_number_type_helper as an integer PhoneNumberType."""
    nsn, meta = pl.col(column), _meta(region)
    cases = [(~_matches_desc(nsn, meta.general_desc), PhoneNumberType.UNKNOWN)]
    cases += [
        (_matches_desc(nsn, getattr(meta, name)), getattr(PhoneNumberType, name.upper())) for name in _BEFORE_FIXED
    ]
    fixed = _matches_desc(nsn, meta.fixed_line)
    mobile = _matches_desc(nsn, meta.mobile)
    if meta.same_mobile_and_fixed_line_pattern:
        cases.append((fixed, PhoneNumberType.FIXED_LINE_OR_MOBILE))
    else:
        cases.append((fixed & mobile, PhoneNumberType.FIXED_LINE_OR_MOBILE))
        cases.append((fixed, PhoneNumberType.FIXED_LINE))
        cases.append((mobile, PhoneNumberType.MOBILE))
    chain: Any = pl
    for condition, kind in cases:
        chain = chain.when(condition).then(int(kind))
    return cast(pl.Expr, chain.otherwise(int(PhoneNumberType.UNKNOWN)))


@cache
def _zones(cc: str) -> pl.Expr:
    """time_zones_for_number of e164 (of type kind): by the longest known prefix for geographic types, else the
    country's zones."""
    e164, kind = pl.col("e164"), pl.col("kind")
    kinds = [int(t) for t in _GEOGRAPHIC]
    if phonenumbers.is_number_type_geographical(PhoneNumberType.MOBILE, int(cc)):
        kinds.append(int(PhoneNumberType.MOBILE))
    digits = e164.str.slice(1)
    by_prefix = pl.lit(None, pl.String)
    for width, table in _prefix_tables(cc):
        by_prefix = pl.coalesce(by_prefix, digits.str.slice(0, width).replace_strict(table, default=None))
    country = pl.lit(_country_zones(cc))
    return pl.when(kind.is_in(kinds)).then(by_prefix.fill_null(pl.lit(zones_json(())))).otherwise(country)


@cache
def _prefix_tables(cc: str) -> tuple[tuple[int, dict[str, str]], ...]:
    """TIMEZONE_DATA's prefixes of one calling code, longest first, zone lists as stored JSON."""
    tables: dict[int, dict[str, str]] = {}
    for prefix, zones in TIMEZONE_DATA.items():
        if prefix.startswith(cc):
            tables.setdefault(len(prefix), {})[prefix] = zones_json(_known_zones(zones))
    return tuple(sorted(tables.items(), reverse=True))


@cache
def _country_zones(cc: str) -> str:
    """_country_level_time_zones_for_number, as it reads (prefixes of the code itself)."""
    for width in range(TIMEZONE_LONGEST_PREFIX, 0, -1):
        zones = TIMEZONE_DATA.get(cc[: 1 + width])
        if zones is not None:
            return zones_json(_known_zones(zones))
    return zones_json(())


def _known_zones(zones: Sequence[str]) -> tuple[str, ...]:
    return tuple(z for z in zones if z != "Etc/Unknown")


@cache
def _meta(region: str) -> PhoneMetadata:
    meta = PhoneMetadata.metadata_for_region(region)
    assert meta is not None, region
    return meta
