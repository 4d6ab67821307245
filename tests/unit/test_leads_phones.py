"""Phone numbers: E.164 from the shapes lists use, their zones, and the bulk path agreeing with phonenumbers."""

from __future__ import annotations

import phonenumbers
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialer.leads.model import LeadDataError
from dialer.leads.phones import check_region, normalise, normalise_cell, zones_json
from dialer.leads.phones_bulk import normalise_numbers


def test_the_three_ways_to_write_a_russian_mobile_are_one_number() -> None:
    shapes = ["8 (912) 345-67-89", "+7 912 345 67 89", "79123456789", "9123456789", "+7(912)345-67-89"]
    assert {n.e164 for n in (normalise(s, "RU") for s in shapes) if n} == {"+79123456789"}
    bulk = normalise_numbers(pl.Series(shapes), "RU")
    assert bulk.get_column("e164").to_list() == ["+79123456789"] * len(shapes)


def test_a_russian_mobile_may_be_in_many_zones_a_landline_in_one() -> None:
    mobile = normalise("+79123456789", "RU")
    landline = normalise("8 (343) 123-45-67", "RU")
    assert mobile is not None and landline is not None
    assert {"Europe/Moscow", "Asia/Yekaterinburg", "Asia/Vladivostok"} <= set(mobile.zones)
    assert landline.zones == ("Asia/Yekaterinburg",)


def test_invalid_and_empty_values_give_no_number() -> None:
    for raw in ["12345", "+7 000 000 00 00", "нет", "", "8 (912) 345-67"]:
        assert normalise_cell(raw, "RU") == ()
    frame = normalise_numbers(pl.Series(["12345", None, ""]), "RU")
    assert frame.get_column("e164").to_list() == [None, None, None]


def test_several_numbers_in_one_cell_are_kept_in_order() -> None:
    frame = normalise_numbers(pl.Series(["8 912 111 22 33, 8 912 111 22 44; +7 912 111 22 33"]), "RU")
    assert frame.row(0, named=True)["e164"] == "+79121112233"
    assert frame.row(0, named=True)["more"] == '["+79121112244"]'


def test_the_default_region_is_checked() -> None:
    assert check_region(" ru ") == "RU"
    with pytest.raises(LeadDataError, match="region 'XX'"):
        check_region("XX")


# -- the bulk path is phonenumbers, only faster --------------------------------------------------------------------

CODES = sorted({str(cc) for cc in phonenumbers.COUNTRY_CODE_TO_REGION_CODE})
REGIONS = ["RU", "KZ", "BY", "UA", "US", "DE", "GB", "IT", "BR", "AR"]
separators = st.sampled_from(["", " ", "-", " - ", "(", ")", ".", "\u00a0"])


def spaced(digits: str, draw: st.DrawFn) -> str:
    out = []
    for ch in digits:
        out.append(ch)
        out.append(draw(separators) if draw(st.integers(0, 3)) == 0 else "")
    return "".join(out).strip()


@st.composite
def phone_like(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:  # a national number of Russia in its usual shapes
        rest = draw(st.sampled_from("34899")) + draw(st.text("0123456789", min_size=9, max_size=9))
        return draw(st.sampled_from(["+7", "8", "7", "", "+7 8", "810 7"])) + spaced(rest, draw)
    if kind == 1:  # any country, with '+'
        return "+" + draw(st.sampled_from(CODES)) + spaced(draw(st.text("0123456789", min_size=3, max_size=13)), draw)
    if kind == 2:  # digits only, any length, maybe an international prefix
        prefix = draw(st.sampled_from(["", "00", "0", "1", "8", "810", "011"]))
        return prefix + draw(st.text("0123456789", min_size=1, max_size=15))
    return draw(st.text("0123456789 +()-.#xabc,;/", max_size=20))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(values=st.lists(phone_like(), min_size=1, max_size=40), region=st.sampled_from(REGIONS))
def test_bulk_normalisation_equals_phonenumbers(values: list[str], region: str) -> None:
    """For any values and default region, the vectorised path gives exactly phonenumbers' E.164 and zones."""
    frame = normalise_numbers(pl.Series(values, dtype=pl.String), region)
    for raw, (e164, zones, more) in zip(values, frame.iter_rows(), strict=True):
        numbers = normalise_cell(raw, region)
        assert e164 == (numbers[0].e164 if numbers else None), raw
        assert zones == (zones_json(numbers[0].zones) if numbers else None), raw
        assert more == (None if len(numbers) < 2 else str([n.e164 for n in numbers[1:]]).replace("'", '"')), raw


def test_bulk_normalisation_of_a_realistic_sample_equals_phonenumbers() -> None:
    """Thousands of Russian and foreign numbers in mixed shapes: every one as phonenumbers has it."""
    import random

    rng = random.Random(7)
    values = []
    for _ in range(3000):
        digits = rng.choice("3489") + "".join(rng.choices("0123456789", k=9))
        values.append(rng.choice(["+7 {}", "8 ({})", "7{}", "{}", "+380{}", "+375{}", "+49{}", "+1{}"]).format(digits))
    frame = normalise_numbers(pl.Series(values), "RU")
    for raw, e164 in zip(values, frame.get_column("e164").to_list(), strict=True):
        found = normalise(raw, "RU")
        assert e164 == (found.e164 if found else None), raw
