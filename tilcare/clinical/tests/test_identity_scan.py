"""Reading labels and judging scans against a custody step (pure; check characters per JPAC).

Identifiers used: W123426000123 (check character "3") is this journey; W123426000124 (check
character "1") is another patient's. Both computed with tilcare.clinical.checkdigits.mod37_2,
itself tested against the JPAC Red Book Annex 2 worked example.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from tilcare.clinical import identity_scan as scan
from tilcare.clinical.identity_scan import Expectation, ItemFacts, classify, parse_scan

DIN = "W123426000123"
CHECK = "3"
OTHER_DIN = "W123426000124"
OTHER_CHECK = "1"
NOW = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
BAG_ID = f"{DIN}-BG01"


def bag(**changes: object) -> ItemFacts:
    values: dict[str, object] = {
        "item_id": BAG_ID,
        "coi_din": DIN,
        "kind": "product_bag",
        "number": 1,
        "manufacture_attempt": 1,
        "released_at": NOW - dt.timedelta(days=2),
        "expires_at": NOW + dt.timedelta(days=30),
        "label_voided": False,
    }
    values.update(changes)
    return ItemFacts(**values)  # type: ignore[arg-type]


AT_CENTER = Expectation(
    coi_din=DIN, kinds=frozenset({"product_bag", "cassette"}), attempt=1, check_release=True
)


# ---------- Reading ----------


def test_item_id_as_printed_is_read_with_its_kind_and_number() -> None:
    parsed = parse_scan("W123426000123-BG01")

    assert parsed.form == scan.FORM_ITEM_ID
    assert parsed.readable
    assert (parsed.coi_din, parsed.item_id, parsed.kind, parsed.number) == (
        DIN,
        BAG_ID,
        "product_bag",
        1,
    )
    assert parsed.check_given == ""


def test_wedge_scanner_carriage_return_and_lower_case_are_ignored() -> None:
    parsed = parse_scan("  w123426000123-ts02\r\n")

    assert parsed.item_id == f"{DIN}-TS02"
    assert parsed.kind == "tumor_specimen"
    assert parsed.number == 2


def test_2d_content_is_read_and_its_check_character_verified() -> None:
    parsed = parse_scan(f"{BAG_ID}|{DIN}{CHECK}")

    assert parsed.form == scan.FORM_LABEL_2D
    assert parsed.readable
    assert (parsed.item_id, parsed.coi_din, parsed.check_given) == (BAG_ID, DIN, CHECK)


def test_bare_coi_with_spaces_and_leading_equals_is_read() -> None:
    parsed = parse_scan("=W1234 26 000123 3")

    assert parsed.form == scan.FORM_COI
    assert parsed.readable
    assert parsed.coi_din == DIN
    assert parsed.item_id == ""


def test_wrong_check_character_on_a_bare_coi_names_the_expected_one() -> None:
    parsed = parse_scan(f"{DIN}X")

    assert parsed.problem == scan.PROBLEM_CHECK
    assert parsed.check_expected == "3"
    assert parsed.detail == "Check character “X” does not match W1234 26 000123: expected “3”."


def test_wrong_check_character_in_the_2d_code_is_refused() -> None:
    parsed = parse_scan(f"{BAG_ID}|{DIN}7")

    assert parsed.problem == scan.PROBLEM_CHECK
    assert parsed.item_id == BAG_ID


def test_2d_code_whose_item_and_coi_disagree_is_faulty() -> None:
    parsed = parse_scan(f"{BAG_ID}|{OTHER_DIN}{OTHER_CHECK}")

    assert parsed.problem == scan.PROBLEM_INCONSISTENT
    assert "do not belong together" in parsed.detail


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \r",
        "hello",
        "W123426000123-BG1",
        "O123426000123-BG01",  # a FIN never starts with the letter O
        "W12342600012",  # 12 characters
        "A|B|C",
    ],
)
def test_unreadable_texts_are_not_labels(text: str) -> None:
    parsed = parse_scan(text)

    assert parsed.problem == scan.PROBLEM_UNREADABLE
    assert parsed.form == scan.FORM_UNREADABLE


# ---------- Judging ----------


def test_the_expected_released_bag_matches() -> None:
    outcome = classify(parse_scan(BAG_ID), AT_CENTER, bag(), now=NOW)

    assert outcome.result == scan.MATCH
    assert outcome.accepted
    assert outcome.message == "Matches — W123426000123-BG01 (product bag 1)."
    assert outcome.next_step == ""


def test_bag_of_another_journey_is_refused_with_its_coi() -> None:
    other_bag = bag(item_id=f"{OTHER_DIN}-BG01", coi_din=OTHER_DIN)

    outcome = classify(parse_scan(f"{OTHER_DIN}-BG01"), AT_CENTER, other_bag, now=NOW)

    assert outcome.result == scan.OTHER_JOURNEY
    assert outcome.critical
    assert outcome.message == (
        "This product bag belongs to another patient's journey (W1234 26 000124). "
        "Stop: do not proceed."
    )
    assert "Set the item aside" in outcome.next_step


def test_unregistered_label_of_another_coi_is_still_another_journey() -> None:
    outcome = classify(parse_scan(f"{OTHER_DIN}-BG03"), AT_CENTER, None, now=NOW)

    assert outcome.result == scan.OTHER_JOURNEY


def test_wrong_check_character_is_its_own_result_and_names_the_expected_one() -> None:
    outcome = classify(parse_scan(f"{BAG_ID}|{DIN}7"), AT_CENTER, bag(), now=NOW)

    assert outcome.result == scan.WRONG_CHECK_CHARACTER
    assert not outcome.critical
    assert outcome.message == (
        "Check character “7” does not match W1234 26 000123: expected “3”. "
        "The identifier was misread or mistyped. Stop: do not proceed."
    )


def test_unreadable_text_is_an_unknown_item() -> None:
    outcome = classify(parse_scan("hello"), AT_CENTER, None, now=NOW)

    assert outcome.result == scan.UNKNOWN_ITEM
    assert outcome.message.startswith("Not a label tilcare printed. ")
    assert outcome.message.endswith("Stop: do not proceed.")


def test_unregistered_item_of_this_journey_is_unknown() -> None:
    outcome = classify(parse_scan(f"{DIN}-BG07"), AT_CENTER, None, now=NOW)

    assert outcome.result == scan.UNKNOWN_ITEM
    assert outcome.message == (
        "No item W123426000123-BG07 is registered for this journey. Stop: do not proceed."
    )


def test_item_of_the_wrong_kind_is_the_wrong_item() -> None:
    culture = bag(item_id=f"{DIN}-CU01", kind="culture")

    outcome = classify(parse_scan(f"{DIN}-CU01"), AT_CENTER, culture, now=NOW)

    assert outcome.result == scan.WRONG_ITEM
    assert outcome.message == (
        "This is a culture (W123426000123-CU01); this step expects a cassette or a product bag. "
        "Stop: do not proceed."
    )


def test_another_item_than_the_one_expected_is_the_wrong_item() -> None:
    expectation = Expectation(coi_din=DIN, item_id=f"{DIN}-BG02")

    outcome = classify(parse_scan(BAG_ID), expectation, bag(), now=NOW)

    assert outcome.result == scan.WRONG_ITEM
    assert "this step expects W123426000123-BG02" in outcome.message


def test_item_of_an_earlier_manufacturing_attempt_is_the_wrong_item() -> None:
    expectation = Expectation(coi_din=DIN, attempt=2)

    outcome = classify(parse_scan(BAG_ID), expectation, bag(), now=NOW)

    assert outcome.result == scan.WRONG_ITEM
    assert "from manufacturing attempt 1; the journey is on attempt 2" in outcome.message


def test_journey_identifier_where_an_item_is_expected_is_the_wrong_item() -> None:
    outcome = classify(parse_scan(f"{DIN}{CHECK}"), AT_CENTER, None, now=NOW)

    assert outcome.result == scan.WRONG_ITEM
    assert "not an item label" in outcome.message


def test_journey_identifier_matches_when_no_item_is_expected() -> None:
    outcome = classify(parse_scan(f"{DIN}{CHECK}"), Expectation(coi_din=DIN), None, now=NOW)

    assert outcome.result == scan.MATCH
    assert outcome.message == "Matches — journey W1234 26 000123 3."


def test_voided_label_is_refused() -> None:
    outcome = classify(parse_scan(BAG_ID), AT_CENTER, bag(label_voided=True), now=NOW)

    assert outcome.result == scan.LABEL_VOIDED
    assert outcome.message == "The label of W123426000123-BG01 was voided. Stop: do not proceed."


def test_unreleased_product_is_refused_at_the_center() -> None:
    outcome = classify(parse_scan(BAG_ID), AT_CENTER, bag(released_at=None), now=NOW)

    assert outcome.result == scan.NOT_RELEASED
    assert outcome.critical
    assert outcome.message == (
        "Product W123426000123-BG01 has not been released by the facility's QA. "
        "Stop: do not accept or infuse it."
    )


def test_released_product_without_expiry_is_refused_as_not_released() -> None:
    outcome = classify(parse_scan(BAG_ID), AT_CENTER, bag(expires_at=None), now=NOW)

    assert outcome.result == scan.NOT_RELEASED
    assert "no expiry recorded" in outcome.message


def test_expired_product_is_refused_and_the_expiry_shown_in_the_time_zone_of_now() -> None:
    new_york = NOW.astimezone(zoneinfo.ZoneInfo("America/New_York"))
    expired = bag(expires_at=dt.datetime(2026, 3, 1, 17, 30, tzinfo=dt.UTC))

    outcome = classify(parse_scan(BAG_ID), AT_CENTER, expired, now=new_york)

    assert outcome.result == scan.EXPIRED
    assert outcome.message == (
        "Product W123426000123-BG01 expired 01 Mar 2026 12:30. Stop: do not accept or infuse it."
    )


def test_product_expiring_exactly_now_is_expired() -> None:
    outcome = classify(parse_scan(BAG_ID), AT_CENTER, bag(expires_at=NOW), now=NOW)

    assert outcome.result == scan.EXPIRED


def test_release_is_not_checked_where_the_step_does_not_ask_for_it() -> None:
    at_facility = Expectation(coi_din=DIN, kinds=frozenset({"product_bag"}))

    outcome = classify(parse_scan(BAG_ID), at_facility, bag(released_at=None), now=NOW)

    assert outcome.result == scan.MATCH


def test_release_is_checked_only_for_products() -> None:
    shipper = bag(item_id=f"{DIN}-SH01", kind="shipper", released_at=None, expires_at=None)
    expectation = Expectation(coi_din=DIN, check_release=True)

    outcome = classify(parse_scan(f"{DIN}-SH01"), expectation, shipper, now=NOW)

    assert outcome.result == scan.MATCH


def test_every_refusal_says_what_to_do_next() -> None:
    refusals = [r for r in scan.RESULTS if r != scan.MATCH]

    assert len(scan.RESULTS) == 8
    assert all(scan.next_step_for(r) for r in refusals)
    assert scan.next_step_for(scan.MATCH) == ""


def test_check_scan_parses_then_classifies() -> None:
    outcome = scan.check_scan(f"{BAG_ID}|{DIN}{CHECK}", AT_CENTER, bag(), now=NOW)

    assert outcome.accepted
    assert outcome.rule == "all_checks"
    assert outcome.source == scan.SOURCE


def test_messages_never_repeat_what_was_typed() -> None:
    typed = "Lindqvist Theodora"

    outcome = classify(parse_scan(typed), AT_CENTER, None, now=NOW)

    assert outcome.result == scan.UNKNOWN_ITEM
    assert "LINDQVIST" not in outcome.message.upper()
    assert outcome.scan.text == typed


def test_a_malformed_coi_in_the_2d_code_is_unreadable() -> None:
    parsed = parse_scan(f"{BAG_ID}|O12342600012X")

    assert parsed.problem == scan.PROBLEM_UNREADABLE
    assert parsed.detail.startswith("The 2D code's second part is not a COI identifier")


def test_the_coi_identifier_is_printed_in_three_groups_then_its_check_character() -> None:
    assert scan.spaced(DIN) == "W1234 26 000123"
    assert scan.coi_display(DIN, CHECK) == "W1234 26 000123 3"
