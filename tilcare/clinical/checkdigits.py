"""ISO 7064 Mod 37-2 check characters for ISBT 128 identifiers.

Source: JPAC Red Book, Annex 2, "ISBT 128 check character calculation"
(https://www.transfusionguidelines.org/red-book/annex-2-isbt-128-check-character-calculation).

Algorithm, over the 13-character Donation Identification Number (FIN 5 + year 2 + sequence 6),
without the leading "=" and without the two flag characters:
  1. value of each character: 0-9 -> 0-9, A-Z -> 10-35, "*" -> 36;
  2. multiply each value by 2**n, n being the position counted from the right (rightmost n = 1);
  3. sum the products; 4. take the sum mod 37; 5. subtract from 38; 6. take the result mod 37.
The eye-readable check character is the character of that value; the barcode flag value is
checksum + 60. Worked example (JPAC): G123498654321 -> sum 148354, checksum 17, character "H".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ*"
SOURCE = "ISO 7064 Mod 37-2 as given in JPAC Red Book Annex 2 (ISBT 128 check character)"

# ISBT 128 DIN: FIN (first character A-N, P-Z or 1-9; two alphanumerics; two digits),
# year (2 digits), sequence (6 digits).
DIN_PATTERN = re.compile(r"^[A-NP-Z1-9][A-Z0-9]{2}[0-9]{2}[0-9]{2}[0-9]{6}$")


class IdentifierError(ValueError):
    """A scanned or typed identifier that is malformed or whose check character does not match."""


@dataclass(frozen=True)
class CheckCharacter:
    identifier: str
    weighted_sum: int
    checksum: int
    character: str
    barcode_flag_value: int
    formula: str = "(38 − (Σ value(c_i) × 2^i) mod 37) mod 37, i counted from the right from 1"
    source: str = SOURCE


def mod37_2(identifier: str) -> CheckCharacter:
    """Compute the check character of `identifier` (characters 0-9, A-Z, *)."""
    text = identifier.upper()
    if not text:
        raise IdentifierError("The identifier is empty.")
    total = 0
    for position, char in enumerate(reversed(text), start=1):
        value = ALPHABET.find(char)
        if value < 0:
            raise IdentifierError(
                f"“{char}” cannot appear in an ISBT 128 identifier (only 0-9, A-Z and *)."
            )
        total += value * (2**position)
    checksum = (38 - total % 37) % 37
    return CheckCharacter(
        identifier=text,
        weighted_sum=total,
        checksum=checksum,
        character=ALPHABET[checksum],
        barcode_flag_value=checksum + 60,
    )


def format_din(fin: str, year_two_digits: int, sequence: int) -> str:
    """Build a 13-character DIN from its parts, refusing parts that do not fit their width."""
    if not 0 <= year_two_digits <= 99:
        raise IdentifierError(f"Year must be two digits (00-99), got {year_two_digits}.")
    if not 1 <= sequence <= 999_999:
        raise IdentifierError(f"Sequence must be between 1 and 999999, got {sequence}.")
    din = f"{fin.upper()}{year_two_digits:02d}{sequence:06d}"
    if not DIN_PATTERN.match(din):
        raise IdentifierError(
            f"“{fin}” is not a valid ISBT 128 facility identification number "
            "(5 characters: A-N, P-Z or 1-9, two letters or digits, two digits)."
        )
    return din


def parse_din_with_check(scanned: str) -> str:
    """Validate a scanned or typed DIN with its check character; return the 13-character DIN.

    Accepts the 14-character form (DIN + check character), with or without spaces and a leading
    "=". Raises IdentifierError saying what is wrong, including the expected check character.
    """
    text = scanned.strip().upper().replace(" ", "").lstrip("=")
    if len(text) != 14:
        raise IdentifierError(
            f"Expected 14 characters (13-character identifier and its check character), "
            f"got {len(text)}."
        )
    din, given = text[:13], text[13]
    if not DIN_PATTERN.match(din):
        raise IdentifierError(f"“{din}” is not an ISBT 128 donation identification number.")
    expected = mod37_2(din).character
    if given != expected:
        raise IdentifierError(
            f"Check character “{given}” does not match {din}: expected “{expected}”. "
            "The identifier was mistyped or misread."
        )
    return din
