"""ISBT 128 check character (ISO 7064 Mod 37-2) for a typed or scanned identifier."""

from ninja import Field, Schema

from tilcare.accounts.roles import Perm
from tilcare.calculators.registry import Calculator, Outcome, register
from tilcare.clinical.checkdigits import mod37_2, parse_din_with_check


class CheckCharacterIn(Schema):
    identifier: str = Field(
        ...,
        title="Identifier",
        description=(
            "A 13-character identifier (e.g. W123426123456) to compute its check character, or "
            "the 14 characters with it (as printed or scanned) to verify it"
        ),
        max_length=40,
    )


def run_check_character(data: CheckCharacterIn) -> Outcome:
    text = "".join(data.identifier.split()).upper()
    if len(text) == 14:
        # The identifier and its check character, as printed beside the barcode: verify it.
        identifier = parse_din_with_check(text)
        result = mod37_2(identifier)
        return Outcome(
            f"{identifier}: check character {result.character} matches", result, tone="ok"
        )
    if len(text) != 13:
        raise ValueError(
            f"identifier: expected 13 characters (to compute the check character) or 14 (to "
            f"verify it), got {len(text)}."
        )
    result = mod37_2(text)
    return Outcome(f"Check character for {result.identifier}: {result.character}", result)


register(
    Calculator(
        slug="check-character",
        title="ISBT 128 check character",
        group="Identity",
        purpose="Compute or verify the ISO 7064 Mod 37-2 check character of a COI identifier.",
        input_schema=CheckCharacterIn,
        run=run_check_character,
        example={"identifier": "W123426123456"},
        perms=(Perm.USE_CLINICAL_CALCULATORS, Perm.USE_MANUFACTURING_CALCULATORS),
    )
)
