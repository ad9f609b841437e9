"""Reading a scanned or typed label, and judging it against what a custody step expects.

A label carries the item id as text and Code 128 (``W123426000123-BG01``: the 13-character COI
identifier, a two-letter kind code and a two-digit number) and a 2D code holding
``<item id>|<COI identifier><check character>``. A journey's own identifier is read as the 13
characters with their check character (``W123426000123H``, spaces and a leading "=" ignored).

The check character is ISO 7064 Mod 37-2 (`tilcare.clinical.checkdigits`); a wrong one means the
identifier was misread or mistyped and nothing else about the scan can be trusted.

`classify()` compares what was read with what the step expects, in this order, and stops at the
first problem: unreadable label; wrong check character; label whose two identifiers disagree;
another journey's identifier; a journey identifier where an item is expected; an item nobody
registered; not the expected item, kind or manufacturing attempt; a voided label; for a product
checked at the center, not released, no expiry recorded, or expired. Each result carries a message
a nurse reads at the bench or the bedside, and `next_step_for()` says what to do about it.

Messages never repeat the text that was read (it may be anything a person typed, and alerts
are seen by both organizations); they name only identifiers that passed their format check.

Pure: no Django, no database, no clock. `now` is passed in, and expiry times are shown in its
time zone (give it in the center's zone).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from tilcare.clinical.checkdigits import DIN_PATTERN, mod37_2

SOURCE = (
    "ISBT 128 DIN structure (ICCBBA ST-001); check character ISO 7064 Mod 37-2 "
    "(JPAC Red Book Annex 2); tilcare item id <DIN>-<kind code><number>"
)

# Scan results: the same values as tilcare.identity.choices.ScanResult.
MATCH = "match"
WRONG_CHECK_CHARACTER = "wrong_check_character"
UNKNOWN_ITEM = "unknown_item"
OTHER_JOURNEY = "other_journey"
WRONG_ITEM = "wrong_item"
NOT_RELEASED = "not_released"
EXPIRED = "expired"
LABEL_VOIDED = "label_voided"
RESULTS = (
    MATCH,
    WRONG_CHECK_CHARACTER,
    UNKNOWN_ITEM,
    OTHER_JOURNEY,
    WRONG_ITEM,
    NOT_RELEASED,
    EXPIRED,
    LABEL_VOIDED,
)
# A mix-up of patients or a product that must not be given: the most serious alerts.
CRITICAL_RESULTS = frozenset({OTHER_JOURNEY, NOT_RELEASED, EXPIRED})

# Item kinds: the same values (and codes) as tilcare.identity.choices.ItemKind and ITEM_CODES.
KIND_BY_CODE: dict[str, str] = {
    "TS": "tumor_specimen",
    "CU": "culture",
    "BG": "product_bag",
    "CS": "cassette",
    "SH": "shipper",
}
KIND_NOUNS: dict[str, str] = {
    "tumor_specimen": "tumor specimen container",
    "culture": "culture",
    "product_bag": "product bag",
    "cassette": "cassette",
    "shipper": "shipper",
}
PRODUCT_KINDS = frozenset({"product_bag", "cassette"})

# How the text was read.
FORM_ITEM_ID = "item_id"
FORM_LABEL_2D = "label_2d"
FORM_COI = "coi"
FORM_UNREADABLE = "unreadable"

# What was wrong with the text itself (before comparing with the step).
PROBLEM_UNREADABLE = "unreadable"
PROBLEM_CHECK = "wrong_check_character"
PROBLEM_INCONSISTENT = "inconsistent"

_ITEM_ID = re.compile(r"^(?P<din>[A-Z0-9]{13})-(?P<code>[A-Z]{2})(?P<number>[0-9]{2})$")
# Scanners in keyboard-wedge mode may add a carriage return, tab or group separator.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_NEXT_STEPS: dict[str, str] = {
    MATCH: "",
    WRONG_CHECK_CHARACTER: (
        "Scan again, or type the identifier again from the label. If it still fails, the label "
        "is damaged: keep the item where it is and call the person in charge."
    ),
    UNKNOWN_ITEM: (
        "Scan the item's own tilcare label, or type the item id printed under its barcode. "
        "Do not proceed until it matches; tell the person in charge if it never does."
    ),
    OTHER_JOURNEY: (
        "Set the item aside, away from this patient's items, and call the person in charge now. "
        "An alert has been raised."
    ),
    WRONG_ITEM: "Find the item this step expects and scan its label.",
    NOT_RELEASED: (
        "Quarantine the product and call the pharmacist in charge and the facility's QA. "
        "An alert has been raised."
    ),
    EXPIRED: (
        "Quarantine the product and call the pharmacist in charge and the treating physician. "
        "An alert has been raised."
    ),
    LABEL_VOIDED: (
        "Do not use an item under a voided label: the person in charge must check it and print "
        "a replacement label."
    ),
}


def spaced(din: str) -> str:
    """The COI identifier as printed: ``W1234 26 000123``."""
    return f"{din[:5]} {din[5:7]} {din[7:]}"


def coi_display(din: str, check: str) -> str:
    """The COI identifier with its check character, as printed: ``W1234 26 000123 3``."""
    return f"{spaced(din)} {check}"


def next_step_for(result: str) -> str:
    """What to do after a scan with this result ("" for a match)."""
    return _NEXT_STEPS.get(result, _NEXT_STEPS[UNKNOWN_ITEM])


def kind_noun(kind: str) -> str:
    return KIND_NOUNS.get(kind, "item")


@dataclass(frozen=True)
class ParsedScan:
    """What a scanned or typed text says. `problem` is "" when it reads as a valid label."""

    text: str
    form: str
    coi_din: str = ""
    check_given: str = ""
    check_expected: str = ""
    item_id: str = ""
    kind: str = ""
    number: int | None = None
    problem: str = ""
    detail: str = ""
    source: str = SOURCE

    @property
    def readable(self) -> bool:
        return self.problem == ""


def _normalize(text: str) -> str:
    cleaned = _CONTROL.sub("", text).strip().upper().replace(" ", "")
    return cleaned.removeprefix("=")


def _unreadable(text: str, detail: str) -> ParsedScan:
    return ParsedScan(text=text, form=FORM_UNREADABLE, problem=PROBLEM_UNREADABLE, detail=detail)


def _coi_part(text: str, raw: str, form: str, item: ParsedScan | None) -> ParsedScan:
    """Read ``<DIN><check>`` (14 characters), keeping what the item part said."""
    if len(text) != 14 or not DIN_PATTERN.match(text[:13]):
        what = "The 2D code's second part" if item is not None else "The text read"
        return _unreadable(
            raw,
            f"{what} is not a COI identifier with its check character "
            "(13 characters, then the check character).",
        )
    din, given = text[:13], text[13]
    expected = mod37_2(din).character
    base = ParsedScan(
        text=raw,
        form=form,
        coi_din=din,
        check_given=given,
        check_expected=expected,
        item_id=item.item_id if item else "",
        kind=item.kind if item else "",
        number=item.number if item else None,
    )
    if given != expected:
        return replace(
            base,
            problem=PROBLEM_CHECK,
            detail=(
                f"Check character “{given}” does not match {spaced(din)}: expected “{expected}”."
            ),
        )
    if item is not None and item.coi_din != din:
        return replace(
            base,
            problem=PROBLEM_INCONSISTENT,
            detail=(
                f"The label's item id ({item.item_id}) and its COI identifier ({spaced(din)}) "
                "do not belong together."
            ),
        )
    return base


def _item_part(text: str, raw: str) -> ParsedScan:
    match = _ITEM_ID.match(text)
    if match is None or not DIN_PATTERN.match(match["din"]):
        return _unreadable(
            raw,
            "The text read is not an item id (COI identifier, a dash, a kind code and a "
            "number, e.g. W123426000123-BG01).",
        )
    return ParsedScan(
        text=raw,
        form=FORM_ITEM_ID,
        coi_din=match["din"],
        item_id=text,
        kind=KIND_BY_CODE.get(match["code"], ""),
        number=int(match["number"]),
    )


def parse_scan(text: str) -> ParsedScan:
    """Read a label's item id, its 2D content, or a COI identifier with its check character."""
    raw = _CONTROL.sub("", text).strip()
    normalized = _normalize(text)
    if not normalized:
        return _unreadable(raw, "Nothing was read.")
    if "|" in normalized:
        parts = normalized.split("|")
        if len(parts) != 2:
            return _unreadable(raw, "The 2D code does not have the form <item id>|<COI>.")
        item = _item_part(parts[0], raw)
        if not item.readable:
            return item
        return _coi_part(parts[1], raw, FORM_LABEL_2D, item)
    if "-" in normalized:
        return _item_part(normalized, raw)
    if len(normalized) == 14:
        return _coi_part(normalized, raw, FORM_COI, None)
    return _unreadable(
        raw,
        "The text read is neither an item id (e.g. W123426000123-BG01) nor a COI identifier "
        "with its check character.",
    )


@dataclass(frozen=True)
class Expectation:
    """What a custody step expects. Empty `kinds` and `item_id`: any item of the journey."""

    coi_din: str
    kinds: frozenset[str] = frozenset()
    item_id: str = ""
    attempt: int | None = None
    # A product bag or cassette checked at the center must be released and within its expiry.
    check_release: bool = False


@dataclass(frozen=True)
class ItemFacts:
    """The registered item the scan names, as the records hold it."""

    item_id: str
    coi_din: str
    kind: str
    number: int
    manufacture_attempt: int
    released_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    label_voided: bool = False


@dataclass(frozen=True)
class ScanOutcome:
    result: str
    message: str
    scan: ParsedScan
    expectation: Expectation
    item: ItemFacts | None
    now: dt.datetime
    rule: str
    source: str = SOURCE

    @property
    def accepted(self) -> bool:
        return self.result == MATCH

    @property
    def critical(self) -> bool:
        return self.result in CRITICAL_RESULTS

    @property
    def next_step(self) -> str:
        return next_step_for(self.result)


def _expected_nouns(kinds: frozenset[str]) -> str:
    nouns = sorted(kind_noun(k) for k in kinds)
    return " or ".join(f"a {n}" for n in nouns)


def _moment(value: dt.datetime, now: dt.datetime) -> str:
    local = value.astimezone(now.tzinfo) if now.tzinfo else value
    return local.strftime("%d %b %Y %H:%M")


def classify(
    scan: ParsedScan,
    expectation: Expectation,
    item: ItemFacts | None,
    *,
    now: dt.datetime,
) -> ScanOutcome:
    """Judge `scan` against `expectation`. `item` is the registered item whose id was read
    (None when none is registered, or when the scan is a COI identifier alone)."""

    def outcome(result: str, message: str, rule: str) -> ScanOutcome:
        return ScanOutcome(result, message, scan, expectation, item, now, rule)

    stop = "Stop: do not proceed."
    if scan.problem == PROBLEM_UNREADABLE:
        return outcome(UNKNOWN_ITEM, f"Not a label tilcare printed. {scan.detail} {stop}", "read")
    if scan.problem == PROBLEM_CHECK:
        return outcome(
            WRONG_CHECK_CHARACTER,
            f"{scan.detail} The identifier was misread or mistyped. {stop}",
            "check_character",
        )
    if scan.problem == PROBLEM_INCONSISTENT:
        return outcome(UNKNOWN_ITEM, f"Faulty label. {scan.detail} {stop}", "label_consistency")
    noun = kind_noun(item.kind if item else scan.kind) if scan.item_id else "identifier"
    found_din = item.coi_din if item is not None else scan.coi_din
    if found_din != expectation.coi_din:
        return outcome(
            OTHER_JOURNEY,
            f"This {noun} belongs to another patient's journey ({spaced(found_din)}). {stop}",
            "same_journey",
        )
    if not scan.item_id:
        if expectation.kinds or expectation.item_id:
            wanted = expectation.item_id or _expected_nouns(expectation.kinds)
            return outcome(
                WRONG_ITEM,
                f"This is the journey's identifier, not an item label. Scan the label on "
                f"{wanted}. {stop}",
                "item_expected",
            )
        return outcome(
            MATCH,
            f"Matches — journey {spaced(scan.coi_din)} {scan.check_given}.",
            "journey_identifier",
        )
    if item is None:
        return outcome(
            UNKNOWN_ITEM,
            f"No item {scan.item_id} is registered for this journey. {stop}",
            "registered",
        )
    if expectation.item_id and item.item_id != expectation.item_id:
        return outcome(
            WRONG_ITEM,
            f"This is {item.item_id}; this step expects {expectation.item_id}. {stop}",
            "expected_item",
        )
    if expectation.kinds and item.kind not in expectation.kinds:
        return outcome(
            WRONG_ITEM,
            f"This is a {noun} ({item.item_id}); this step expects "
            f"{_expected_nouns(expectation.kinds)}. {stop}",
            "expected_kind",
        )
    if expectation.attempt is not None and item.manufacture_attempt != expectation.attempt:
        return outcome(
            WRONG_ITEM,
            f"This {noun} ({item.item_id}) is from manufacturing attempt "
            f"{item.manufacture_attempt}; the journey is on attempt {expectation.attempt}. {stop}",
            "attempt",
        )
    if item.label_voided:
        return outcome(
            LABEL_VOIDED,
            f"The label of {item.item_id} was voided. {stop}",
            "label_status",
        )
    if expectation.check_release and item.kind in PRODUCT_KINDS:
        if item.released_at is None:
            return outcome(
                NOT_RELEASED,
                f"Product {item.item_id} has not been released by the facility's QA. "
                "Stop: do not accept or infuse it.",
                "released",
            )
        if item.expires_at is None:
            return outcome(
                NOT_RELEASED,
                f"Product {item.item_id} has no expiry recorded, so its release is incomplete. "
                "Stop: do not accept or infuse it.",
                "expiry_recorded",
            )
        if item.expires_at <= now:
            return outcome(
                EXPIRED,
                f"Product {item.item_id} expired {_moment(item.expires_at, now)}. "
                "Stop: do not accept or infuse it.",
                "not_expired",
            )
    return outcome(MATCH, f"Matches — {item.item_id} ({noun} {item.number}).", "all_checks")


def check_scan(
    text: str, expectation: Expectation, item: ItemFacts | None, *, now: dt.datetime
) -> ScanOutcome:
    """`parse_scan` then `classify`: for callers that already know the item (tests, tools)."""
    return classify(parse_scan(text), expectation, item, now=now)
