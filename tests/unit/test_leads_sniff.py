"""What a lead file is from its first bytes: XLSX or text, UTF-8 (BOM or not), UTF-16 or Windows-1251, delimiter."""

from __future__ import annotations

import codecs

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dialer.leads.model import LeadDataError
from dialer.leads.sniff import FileKind, decode_sample, file_kind, sniff_delimiter, sniff_encoding

RUSSIAN = "Телефон;ФИО;Город\n89123456789;Иванов Иван;Москва\n"


def test_utf8_with_and_without_bom_and_cp1251_are_told_apart() -> None:
    assert sniff_encoding(RUSSIAN.encode("utf-8")) == "utf-8"
    assert sniff_encoding(codecs.BOM_UTF8 + RUSSIAN.encode("utf-8")) == "utf-8-sig"
    assert sniff_encoding(RUSSIAN.encode("cp1251")) == "cp1251"
    assert sniff_encoding(RUSSIAN.encode("utf-16")) == "utf-16"


def test_a_character_cut_at_the_end_of_the_sample_is_still_utf8() -> None:
    """The sample is the file's first megabyte: its last character may be cut in two."""
    sample = RUSSIAN.encode("utf-8")[:-2]
    assert sniff_encoding(sample) == "utf-8"
    assert decode_sample(sample, "utf-8").startswith("Телефон")


def test_bytes_that_are_no_known_encoding_ask_for_one() -> None:
    with pytest.raises(LeadDataError, match="--encoding"):
        sniff_encoding(b"phone\n\x98\x98\x98\n")


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("phone,name\n1,a\n2,b\n", ","),
        ("Телефон;ФИО;Адрес\n1;Иванов, Иван;Москва, ул. Ленина\n2;b;c\n", ";"),
        ("phone\tname\tcity\n1\ta, b\tc\n", "\t"),
        ('phone,address\n1,"Москва; Ленина, 1"\n2,x\n', ","),
        ("phone\n89123456789\n89123456780\n", ","),
    ],
)
def test_the_delimiter_that_splits_rows_evenly_wins(text: str, delimiter: str) -> None:
    assert sniff_delimiter(text) == delimiter


def test_xlsx_old_xls_and_binaries() -> None:
    assert file_kind(b"PK\x03\x04rest") is FileKind.XLSX
    assert file_kind(b"phone\n1\n") is FileKind.DELIMITED
    with pytest.raises(LeadDataError, match="old Excel"):
        file_kind(b"\xd0\xcf\x11\xe0" + b"\x00" * 10)
    with pytest.raises(LeadDataError, match="binary"):
        file_kind(b"\x7fELF\x00\x00\x01")


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_any_bytes_give_an_encoding_or_a_clear_refusal(data: bytes) -> None:
    """Sniffing never crashes: it names an encoding that decodes the sample, or refuses with LeadDataError."""
    try:
        kind = file_kind(data)
        if kind is FileKind.XLSX:
            return
        encoding = sniff_encoding(data, complete=True)
        decode_sample(data, encoding)
    except LeadDataError:
        return
