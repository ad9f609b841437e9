"""ISO 7064 Mod 37-2 against the JPAC Red Book Annex 2 worked example."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tilcare.clinical.checkdigits import (
    ALPHABET,
    IdentifierError,
    format_din,
    mod37_2,
    parse_din_with_check,
)


def test_jpac_worked_example_g123498654321_gives_h() -> None:
    # Source: JPAC Red Book Annex 2 — weighted sum 148354, 148354 mod 37 = 21, 38 - 21 = 17 -> "H".
    result = mod37_2("G123498654321")

    assert result.weighted_sum == 148354
    assert result.checksum == 17
    assert result.character == "H"
    assert result.barcode_flag_value == 77


@pytest.mark.parametrize(
    ("din", "expected"),
    [
        # Computed with the JPAC algorithm in the reference notes (not quoted from a source).
        ("A99991712345 6", "9"),
        ("A99992112345 6", "3"),
    ],
)
def test_reference_computed_examples(din: str, expected: str) -> None:
    assert mod37_2(din.replace(" ", "")).character == expected


def test_parse_accepts_correct_check_character_with_spaces_and_equals() -> None:
    assert parse_din_with_check("=G123 498 654 321 H") == "G123498654321"


def test_parse_refuses_wrong_check_character_and_names_the_expected_one() -> None:
    with pytest.raises(IdentifierError, match="expected “H”"):
        parse_din_with_check("G123498654321J")


def test_parse_refuses_wrong_length() -> None:
    with pytest.raises(IdentifierError, match="Expected 14 characters"):
        parse_din_with_check("G12349865432")


def test_format_din_refuses_fin_starting_with_letter_o() -> None:
    with pytest.raises(IdentifierError, match="facility identification number"):
        format_din("O1234", 26, 1)


def test_format_din_pads_year_and_sequence() -> None:
    assert format_din("W1234", 6, 42) == "W123406000042"


@given(
    fin=st.from_regex(r"\A[A-NP-Z1-9][A-Z0-9]{2}[0-9]{2}\Z"),
    year=st.integers(0, 99),
    seq=st.integers(1, 999_999),
    position=st.integers(0, 12),
    replacement=st.sampled_from(ALPHABET[:36]),
)
def test_any_single_character_substitution_is_detected(
    fin: str, year: int, seq: int, position: int, replacement: str
) -> None:
    # Property of ISO 7064 Mod 37-2: every single-character substitution changes the check value.
    din = format_din(fin, year, seq)
    check = mod37_2(din).character
    altered = din[:position] + replacement + din[position + 1 :]
    if altered != din:
        assert mod37_2(altered).character != check
