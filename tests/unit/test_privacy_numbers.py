"""A person's number in every shape it takes in records and files, found only as a whole digit run."""

from __future__ import annotations

import pytest

from switchboard.errors import PrivacyError
from switchboard.privacy.numbers import person_number, shapes_of


def test_a_russian_number_in_every_shape() -> None:
    assert shapes_of("+79123456789") == (
        "81079123456789", "0079123456789", "+79123456789", "79123456789", "89123456789", "9123456789",
    )  # fmt: skip


def test_a_us_number_with_its_own_prefixes() -> None:
    assert set(shapes_of("+18005550199")) == {
        "01118005550199",
        "0018005550199",
        "+18005550199",
        "18005550199",
        "8005550199",
    }


@pytest.mark.parametrize("raw", ["8 (912) 345-67-89", "+7 912 345 67 89", "79123456789", " 89123456789 "])
def test_any_written_form_reads_as_the_same_person(raw: str) -> None:
    assert person_number(raw, "RU").e164 == "+79123456789"


@pytest.mark.parametrize(("raw", "region"), [("12345", "RU"), ("not a number", "RU"), ("89123456789", "XX")])
def test_an_invalid_number_or_region_is_refused(raw: str, region: str) -> None:
    with pytest.raises(PrivacyError):
        person_number(raw, region)


def test_only_whole_digit_runs_are_the_number() -> None:
    number = person_number("+79123456789")
    assert number.found_in("ENTERQUEUE||79123456789|1")
    assert not number.found_in("id 579123456789")  # a longer number that holds it
    assert not number.found_in("id 791234567890")
    assert number.mask("a +79123456789 b 89123456789 c 579123456789") == "a +*********** b *********** c 579123456789"


def test_json_values_lose_the_number_and_keep_the_rest() -> None:
    number = person_number("+79123456789")
    value = {"phones": ["+79990001122", "+79123456789"], "note": "звонить на 89123456789", "n": 3}
    assert number.found_in_json(value)
    assert number.mask_json(value) == {"phones": ["+79990001122"], "note": "звонить на ***********", "n": 3}
    assert not number.found_in_json(number.mask_json(value))
