"""A batch's release as one summary, and its certificate of analysis (CoA) as a PDF.

`release_summary(batch)` reads everything the release checklist, the API and the CoA show: the
COI identifier with its check character, the attempt, protocol and version, the bags (volume,
viable cells, item, expiry), each required test with its specification, result and outcome
(or marked missing), and the disposition with its signatures (printed name, meaning, time, and
whether the signed content is unchanged). A batch carries no patient identity, so neither does
anything built from it.

`coa_pdf(batch)` draws the certificate with reportlab, in DejaVu Sans (it has ≤, −, ° and ×10⁹),
times in the facility's time zone. Nothing here writes to the database.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import barcode
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from tilcare.audit.models import Signature
from tilcare.core.timeutil import local_datetime
from tilcare.identity.labels import AUTOLOGOUS_STATEMENT
from tilcare.identity.models import Item
from tilcare.manufacturing.choices import BatchStatus, Disposition, ReleaseTestKind
from tilcare.manufacturing.models import Batch, ProductBag, QaDisposition, ReleaseSpecification
from tilcare.manufacturing.services.formulation import (
    cells_e9_text,
    dose_check,
    dose_specification,
    plain,
    protocol_of,
)
from tilcare.manufacturing.services.release import REQUIRED_TESTS, signature_valid

RELEASED_STATUSES = frozenset({BatchStatus.RELEASED, BatchStatus.RELEASED_EXCEPTION})


@dataclass(frozen=True)
class BagRow:
    bag: ProductBag
    cells_text: str
    storage: str
    expires_at: dt.datetime | None
    released_at: dt.datetime | None


@dataclass(frozen=True)
class TestRow:
    kind: ReleaseTestKind
    specification: str  # as judged, or the criterion that will judge it ("" when none is set)
    result: str  # "" while not recorded
    passed: bool | None  # None while not recorded
    tested_at: dt.datetime | None

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def outcome(self) -> str:
        return {True: "Pass", False: "Fail", None: "Not recorded"}[self.passed]


@dataclass(frozen=True)
class SignatureLine:
    printed_name: str
    meaning: str
    signed_at: dt.datetime
    valid: bool


@dataclass(frozen=True)
class ReleaseSummary:
    batch: Batch
    bags: list[BagRow]
    total_cells: Decimal | None
    tests: list[TestRow]
    disposition: QaDisposition | None
    qa_signature: SignatureLine | None
    physician_signature: SignatureLine | None

    @property
    def protocol(self) -> str:
        return f"{self.batch.protocol_id} version {self.batch.protocol_version}"

    @property
    def missing(self) -> list[str]:
        return [row.label for row in self.tests if row.passed is None]

    @property
    def failed(self) -> list[str]:
        return [row.label for row in self.tests if row.passed is False]

    @property
    def released(self) -> bool:
        return self.batch.status in RELEASED_STATUSES

    @property
    def awaiting_acknowledgement(self) -> bool:
        d = self.disposition
        return bool(
            d and d.decision == Disposition.RELEASE_EXCEPTION and not d.physician_ack_signature_id
        )

    @property
    def status_text(self) -> str:
        if self.awaiting_acknowledgement:
            return "Released under exception by QA: NOT released until the treating physician signs"
        return BatchStatus(self.batch.status).label


def _signature(disposition: QaDisposition, signature: Signature | None) -> SignatureLine | None:
    if signature is None:
        return None
    return SignatureLine(
        signature.printed_name,
        signature.meaning,
        signature.signed_at,
        signature_valid(disposition, signature),
    )


def _result_text(test: object) -> str:
    value, unit, text = (getattr(test, n) for n in ("result_value", "result_unit", "result_text"))
    if text:
        return str(text)
    if unit == "cells":
        return cells_e9_text(value)
    return f"{plain(value)} {unit}".strip()


def _test_rows(batch: Batch) -> list[TestRow]:
    recorded = {t.test: t for t in batch.release_tests.all()}
    specs = {
        s.test: s.criterion
        for s in ReleaseSpecification.objects.filter(
            facility_id=batch.facility_id, protocol_id=batch.protocol_id
        )
    }
    rows = []
    for kind in REQUIRED_TESTS:
        test = recorded.get(kind)
        if test is not None:
            rows.append(
                TestRow(kind, test.specification, _result_text(test), test.passed, test.tested_at)
            )
            continue
        spec = specs.get(kind, "")
        if kind == ReleaseTestKind.VIABLE_CELL_DOSE:
            check = dose_check(batch)
            spec = dose_specification(check or protocol_of(batch).cell_dose)
        rows.append(TestRow(kind, spec, "", None, None))
    return rows


def release_summary(batch: Batch) -> ReleaseSummary:
    bags = list(ProductBag.objects.filter(batch=batch).order_by("bag_number"))
    items = {i.item_id: i for i in Item.objects.filter(item_id__in=[b.item_id for b in bags])}
    rows = []
    for bag in bags:
        item = items.get(bag.item_id)
        rows.append(
            BagRow(
                bag,
                cells_e9_text(bag.viable_cells),
                item.storage_temperature if item else "",
                item.expires_at if item else None,
                item.released_at if item else None,
            )
        )
    disposition = (
        QaDisposition.objects.select_related("qa_signature", "physician_ack_signature")
        .filter(batch=batch)
        .first()
    )
    return ReleaseSummary(
        batch=batch,
        bags=rows,
        total_cells=sum((b.viable_cells for b in bags), Decimal(0)) if bags else None,
        tests=_test_rows(batch),
        disposition=disposition,
        qa_signature=_signature(disposition, disposition.qa_signature) if disposition else None,
        physician_signature=(
            _signature(disposition, disposition.physician_ack_signature) if disposition else None
        ),
    )


# ---------- the PDF ----------

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_BUNDLED = Path(barcode.__file__).parent / "fonts" / "DejaVuSansMono.ttf"
_FACES = {"CoaSans": "DejaVuSans.ttf", "CoaBold": "DejaVuSans-Bold.ttf"}


def _fonts() -> tuple[str, str]:
    """Register the two faces once (falling back to the DejaVu Sans Mono python-barcode ships)."""
    for name, file in _FACES.items():
        if name not in pdfmetrics.getRegisteredFontNames():
            path = _DEJAVU / file if (_DEJAVU / file).is_file() else _BUNDLED
            pdfmetrics.registerFont(TTFont(name, str(path)))
    return "CoaSans", "CoaBold"


def _when(moment: dt.datetime | None, time_zone: str) -> str:
    if moment is None:
        return "—"
    local = local_datetime(moment, time_zone)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def _table(rows: list[list[object]], widths: list[float], fonts: tuple[str, str]) -> Table:
    """A grid with its first row as the header (the facts table: its first column)."""
    sans, bold = fonts
    header = len(rows[0]) > 2
    head = ((0, 0), (-1, 0)) if header else ((0, 0), (0, -1))
    table = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), sans, 8.5),
                ("FONT", *head, bold, 8.5),
                ("BACKGROUND", *head, colors.HexColor("#e8edf3")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa5b1")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def coa_pdf(batch: Batch) -> bytes:
    """The certificate of analysis of `batch`, as PDF bytes."""
    summary = release_summary(batch)
    tz = batch.facility.time_zone
    fonts = _fonts()
    sans, bold = fonts
    body = ParagraphStyle("coa", fontName=sans, fontSize=8.5, leading=10.5)
    heading = ParagraphStyle("coa-h", fontName=bold, fontSize=11, leading=14, spaceBefore=8)
    title = ParagraphStyle("coa-t", fontName=bold, fontSize=16, leading=20)

    def p(text: str) -> Paragraph:
        return Paragraph(text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"), body)

    story: list[Flowable] = [
        Paragraph("Certificate of analysis", title),
        p(f"{batch.facility.name} · TIL cell therapy product · {AUTOLOGOUS_STATEMENT}"),
        Spacer(1, 6),
    ]
    facts = [
        ["COI identifier", summary.batch.coi_display],
        ["Batch", str(batch.public_id)],
        ["Manufacture attempt", str(batch.manufacture_attempt)],
        ["Protocol", summary.protocol],
        ["Treating center", batch.center.name],
        ["Status", p(summary.status_text)],
    ]
    story.append(_table(facts, [1.8 * inch, 5.2 * inch], fonts))
    story.append(Paragraph("Formulation", heading))
    bag_rows: list[list[object]] = [
        ["Bag", "Item", "Volume", "Viable cells", "Storage", "Expiry"],
        *[
            [
                str(r.bag.bag_number),
                r.bag.item_id,
                f"{plain(r.bag.volume_ml)} mL",
                r.cells_text,
                p(r.storage),
                p(_when(r.expires_at, tz)),
            ]
            for r in summary.bags
        ],
    ]
    if summary.total_cells is not None:
        bag_rows.append(["Total", "", "", cells_e9_text(summary.total_cells), "", ""])
    else:
        bag_rows.append(["—", "No formulation recorded", "", "", "", ""])
    widths = [0.4, 1.55, 0.7, 1.25, 1.6, 1.5]
    story.append(_table(bag_rows, [w * inch for w in widths], fonts))
    story.append(Paragraph("Release tests", heading))
    test_rows: list[list[object]] = [
        ["Test", "Specification", "Result", "Tested", "Outcome"],
        *[
            [
                p(r.label),
                p(r.specification or "No specification set"),
                p(r.result or "—"),
                p(_when(r.tested_at, tz)),
                r.outcome.upper(),
            ]
            for r in summary.tests
        ],
    ]
    story.append(_table(test_rows, [w * inch for w in (1.35, 2.3, 1.45, 1.15, 0.75)], fonts))
    story.append(Paragraph("Disposition", heading))
    story.extend(_disposition(summary, tz, p))
    story.append(Spacer(1, 10))
    story.append(p(f"Generated {_when(timezone.now(), tz)} by tilcare from the batch record."))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=LETTER,
        title=f"Certificate of analysis {summary.batch.coi_display}",
        leftMargin=0.75 * inch,
        rightMargin=0.75 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.7 * inch,
    ).build(story)
    return buffer.getvalue()


def _disposition(
    summary: ReleaseSummary, tz: str, make: Callable[[str], Paragraph]
) -> list[Flowable]:
    d = summary.disposition
    if d is None:
        return [make("No QA disposition yet: the product is NOT released.")]
    lines = [f"Decision: {Disposition(d.decision).label}"]
    if d.reason:
        lines.append(f"Reason: {d.reason}")
    for heading, sig in (
        ("QA signature", summary.qa_signature),
        ("Treating physician's acknowledgement", summary.physician_signature),
    ):
        if sig is not None:
            state = "" if sig.valid else " (NO LONGER VALID: the record changed after signing)"
            lines.append(
                f"{heading}: {sig.printed_name} — “{sig.meaning}” — {_when(sig.signed_at, tz)}"
                f"{state}"
            )
    if summary.awaiting_acknowledgement:
        lines.append("Awaiting the treating physician's signed acknowledgement: NOT released.")
    return [make(line) for line in lines]
