"""Item labels, drawn on demand from an `Item`: a 4 × 2 inch PNG (300 dpi) or PDF (vector).

What a label carries (DESIGN section 5; 21 CFR 1271.370 where it applies):
- the chain-of-identity (COI) identifier as printed by ISBT 128: `W1234 26 000017` followed by its
  check character in a box;
- the item id (`<DIN>-<code><NN>`), as text and as a Code 128 symbol;
- a QR code with `<item id>|<DIN><check character>` (`qr_text()`), so one scan gives both;
- the kind of item and its description; where set, the expiry date and the storage temperature;
  these are typed text, so a label drawn for a reader who may not read them (the facility, for an
  item the center made: `policies.can_view_item_text`) leaves out the description and the note
  after the storage temperature;
- on product bags and cassettes, the autologous-use statement (`AUTOLOGOUS_STATEMENT`).

A label travels to the manufacturing facility and back, so it never carries the patient's name,
date of birth or record number: the COI identifier relates the item to the patient (1271.290(c)).

Both formats are drawn by one layout (`_draw`) on two surfaces, so they show the same thing in
the same place. Lengths in the layout are PostScript points (72 to the inch), from the top left.
Nothing here writes to the database.
"""

from __future__ import annotations

import io
import zoneinfo
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

import barcode
import segno
from barcode.writer import ImageWriter
from PIL import Image, ImageDraw, ImageFont
from reportlab.graphics.barcode.code128 import Code128 as PdfCode128
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from tilcare.clinical.identity_scan import spaced
from tilcare.identity.choices import ItemKind
from tilcare.identity.services.items import storage_temperature_alone

# Wording of the autologous-use statement printed on product bags and cassettes. The reference
# file marks this statement (21 CFR 1271.90) as not verified: each center confirms the exact
# wording with its regulatory affairs before labels go into use, and changes it here only.
AUTOLOGOUS_STATEMENT = "FOR AUTOLOGOUS USE ONLY"
AUTOLOGOUS_KINDS = frozenset({ItemKind.PRODUCT_BAG, ItemKind.CASSETTE})

WIDTH_PT, HEIGHT_PT = 288.0, 144.0  # 4 × 2 inches
DPI = 300
MARGIN = 9.0  # 1/8 inch
PX_PER_PT = DPI / 72
MODULE_PT = 72 / DPI * 3  # Code 128 module: 0.01 inch, exactly 3 pixels at 300 dpi
QUIET_MODULES = 10  # Code 128 quiet zone on each side
BARCODE_HEIGHT_PT = 36.0  # 1/2 inch
QR_TARGET_PT = 64.0
QR_BORDER = 4  # QR quiet zone, in modules

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
_BUNDLED_MONO = Path(barcode.__file__).parent / "fonts" / "DejaVuSansMono.ttf"
_FONT_FILES = {
    "sans": ("DejaVuSans.ttf",),
    "bold": ("DejaVuSans-Bold.ttf",),
    "mono": ("DejaVuSansMono.ttf",),
    "mono_bold": ("DejaVuSansMono-Bold.ttf", "DejaVuSansMono.ttf"),
}


def _font_path(face: str) -> Path:
    """The DejaVu face if the system has it; otherwise the DejaVu Sans Mono python-barcode ships
    (it has every glyph a label needs: ≤, −, °), so a label renders everywhere."""
    for name in _FONT_FILES[face]:
        if (_DEJAVU / name).is_file():
            return _DEJAVU / name
    return _BUNDLED_MONO


@dataclass(frozen=True)
class LabelContent:
    """Everything one label shows, as text."""

    coi_spaced: str
    coi_check: str
    item_id: str
    qr_text: str
    kind_line: str
    description: str
    expiry: str
    storage: str
    autologous: bool
    copy_line: str


def qr_text(item: Any) -> str:
    """What the QR code holds: the item id and the COI identifier with its check character."""
    return f"{item.item_id}|{item.coi_din}{item.coi_check}"


def label_content(
    item: Any, *, copy: int | None = None, with_typed_text: bool = True
) -> LabelContent:
    kind = ItemKind(item.kind)
    kind_line = f"{kind.label} {item.number:02d}"
    if item.manufacture_attempt > 1:
        kind_line += f" · attempt {item.manufacture_attempt}"
    expiry = ""
    if item.expires_at is not None:
        local = item.expires_at.astimezone(zoneinfo.ZoneInfo(item.center.time_zone))
        expiry = f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
    return LabelContent(
        coi_spaced=spaced(str(item.coi_din)),
        coi_check=str(item.coi_check),
        item_id=str(item.item_id),
        qr_text=qr_text(item),
        kind_line=kind_line,
        description=str(item.description) if with_typed_text else "",
        expiry=expiry,
        storage=(
            str(item.storage_temperature)
            if with_typed_text
            else storage_temperature_alone(str(item.storage_temperature))
        ),
        autologous=kind in AUTOLOGOUS_KINDS,
        copy_line=f"Label copy {copy}" if copy else "",
    )


# --- the layout, drawn on either surface -----------------------------------------------------


class _Surface(Protocol):
    def text(
        self, x: float, baseline: float, s: str, face: str, size: float, *, align: str = "left"
    ) -> None: ...
    def width(self, s: str, face: str, size: float) -> float: ...
    def box(self, x: float, top: float, w: float, h: float, *, filled: bool) -> None: ...
    def light_text(self, x: float, baseline: float, s: str, face: str, size: float) -> None: ...
    def code128(self, x: float, top: float, value: str) -> float: ...
    def modules(self, x: float, top: float, matrix: list[list[bool]], module: float) -> None: ...


def _fit(surface: _Surface, s: str, face: str, size: float, width: float) -> str:
    """`s` shortened with an ellipsis until it fits `width`."""
    if surface.width(s, face, size) <= width:
        return s
    while s and surface.width(s + "…", face, size) > width:
        s = s[:-1]
    return s.rstrip() + "…"


def _wrap(surface: _Surface, s: str, face: str, size: float, width: float) -> list[str]:
    """`s` on at most two lines of `width`, broken at spaces; the second shortened if needed."""
    words = s.split()
    first = ""
    while words and surface.width(f"{first} {words[0]}".strip(), face, size) <= width:
        first = f"{first} {words.pop(0)}".strip()
    if not first:  # one word longer than the line
        return [_fit(surface, s, face, size, width)]
    rest = " ".join(words)
    return [first, _fit(surface, rest, face, size, width)] if rest else [first]


def _qr_matrix(text: str) -> list[list[bool]]:
    symbol = segno.make(text, error="m", micro=False)
    size = len(symbol.matrix)
    rows = [[bool(cell) for cell in row] for row in symbol.matrix]
    blank = [False] * (size + 2 * QR_BORDER)
    return (
        [blank[:] for _ in range(QR_BORDER)]
        + [[False] * QR_BORDER + row + [False] * QR_BORDER for row in rows]
        + [blank[:] for _ in range(QR_BORDER)]
    )


def _draw(surface: _Surface, c: LabelContent) -> None:
    left, right = MARGIN, WIDTH_PT - MARGIN
    matrix = _qr_matrix(c.qr_text)
    # Whole pixels per QR module, so the PNG's modules are crisp; the PDF uses the same size.
    module = int(QR_TARGET_PT * PX_PER_PT / len(matrix)) / PX_PER_PT
    qr_size = module * len(matrix)
    qr_left = WIDTH_PT - 4 - qr_size
    surface.modules(qr_left, 4, matrix, module)
    column = qr_left - 4 - left

    # The COI identifier, then its check character boxed (ISBT 128 eye-readable format).
    surface.text(left, 15, "CHAIN OF IDENTITY (ISBT 128 DIN)", "sans", 5.5)
    surface.text(left, 31, c.coi_spaced, "mono_bold", 15)
    check_x = left + surface.width(c.coi_spaced, "mono_bold", 15) + 5
    surface.box(check_x, 18, 13, 16.5, filled=False)
    surface.text(check_x + 6.5, 31, c.coi_check, "mono_bold", 15, align="center")

    surface.text(left, 45, "ITEM", "sans", 5.5)
    surface.text(left + 16, 45, c.item_id, "mono_bold", 10)
    surface.text(left, 56, _fit(surface, c.kind_line, "bold", 8, column), "bold", 8)
    surface.text(left, 65.5, _fit(surface, c.description, "sans", 7, column), "sans", 7)

    # Code 128 of the item id; its human-readable line under it.
    bar_left = left - QUIET_MODULES * MODULE_PT
    bar_width = surface.code128(bar_left, 70, c.item_id)
    surface.text(bar_left + bar_width / 2, 114, c.item_id, "mono", 7.5, align="center")

    # Expiry and storage, right of the barcode.
    info_x = bar_left + bar_width + 4
    info_width = right - info_x
    y = 78.0
    if c.expiry:
        surface.text(info_x, y, "EXPIRES", "sans", 5.5)
        surface.text(info_x, y + 9, _fit(surface, c.expiry, "bold", 8, info_width), "bold", 8)
        y += 19
    if c.storage:
        surface.text(info_x, y, "STORE AT", "sans", 5.5)
        for n, line in enumerate(_wrap(surface, c.storage, "bold", 8, info_width)):
            surface.text(info_x, y + 9 + n * 9, line, "bold", 8)

    if c.autologous:
        surface.box(left, 121, 180, 15, filled=True)
        surface.light_text(left + 90, 132, AUTOLOGOUS_STATEMENT, "bold", 9.5)
    if c.copy_line:
        surface.text(right, 134, c.copy_line, "sans", 5.5, align="right")


# --- PNG (Pillow; Code 128 by python-barcode's ImageWriter) ----------------------------------

_PIL_ANCHORS = {"left": "ls", "center": "ms", "right": "rs"}


@cache
def _pil_font(face: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(_font_path(face)), size_px)


def _px(value: float) -> int:
    return round(value * PX_PER_PT)


class _PngSurface:
    def __init__(self) -> None:
        self.image = Image.new("L", (_px(WIDTH_PT), _px(HEIGHT_PT)), 255)
        self.draw = ImageDraw.Draw(self.image)

    def _font(self, face: str, size: float) -> ImageFont.FreeTypeFont:
        return _pil_font(face, _px(size))

    def text(
        self, x: float, baseline: float, s: str, face: str, size: float, *, align: str = "left"
    ) -> None:
        font = self._font(face, size)
        self.draw.text((_px(x), _px(baseline)), s, fill=0, font=font, anchor=_PIL_ANCHORS[align])

    def light_text(self, x: float, baseline: float, s: str, face: str, size: float) -> None:
        self.draw.text(
            (_px(x), _px(baseline)), s, fill=255, font=self._font(face, size), anchor="ms"
        )

    def width(self, s: str, face: str, size: float) -> float:
        return float(self._font(face, size).getlength(s)) / PX_PER_PT

    def box(self, x: float, top: float, w: float, h: float, *, filled: bool) -> None:
        shape = [_px(x), _px(top), _px(x + w), _px(top + h)]
        if filled:
            self.draw.rectangle(shape, fill=0)
        else:
            self.draw.rectangle(shape, outline=0, width=4)

    def code128(self, x: float, top: float, value: str) -> float:
        symbol = barcode.Code128(value, writer=ImageWriter())
        bars = symbol.render(
            {
                "module_width": MODULE_PT * 25.4 / 72,  # millimetres
                "module_height": BARCODE_HEIGHT_PT * 25.4 / 72,
                "quiet_zone": QUIET_MODULES * MODULE_PT * 25.4 / 72,
                "margin_top": 0,
                "margin_bottom": 0,
                "write_text": False,
                "dpi": DPI,
            }
        ).convert("L")
        self.image.paste(bars, (_px(x), _px(top)))
        return float(bars.width) / PX_PER_PT

    def modules(self, x: float, top: float, matrix: list[list[bool]], module: float) -> None:
        step = round(module * PX_PER_PT)
        x0, y0 = _px(x), _px(top)
        for r, row in enumerate(matrix):
            for c, dark in enumerate(row):
                if dark:
                    left, upper = x0 + c * step, y0 + r * step
                    self.draw.rectangle([left, upper, left + step - 1, upper + step - 1], fill=0)


def label_png(item: Any, *, copy: int | None = None, with_typed_text: bool = True) -> bytes:
    """The label as a 1200 × 600 pixel PNG (4 × 2 inches at 300 dpi)."""
    surface = _PngSurface()
    _draw(surface, label_content(item, copy=copy, with_typed_text=with_typed_text))
    out = io.BytesIO()
    surface.image.save(out, format="PNG", dpi=(DPI, DPI), optimize=True)
    return out.getvalue()


# --- PDF (reportlab; vector Code 128 from reportlab's own barcode widget) --------------------


@cache
def _pdf_font(face: str) -> str:
    name = f"TilcareLabel-{face}"
    pdfmetrics.registerFont(TTFont(name, str(_font_path(face))))
    return name


class _PdfSurface:
    def __init__(self, canvas: Canvas) -> None:
        self.canvas = canvas

    def text(
        self, x: float, baseline: float, s: str, face: str, size: float, *, align: str = "left"
    ) -> None:
        self.canvas.setFillGray(0)
        self.canvas.setFont(_pdf_font(face), size)
        y = HEIGHT_PT - baseline
        if align == "center":
            self.canvas.drawCentredString(x, y, s)
        elif align == "right":
            self.canvas.drawRightString(x, y, s)
        else:
            self.canvas.drawString(x, y, s)

    def light_text(self, x: float, baseline: float, s: str, face: str, size: float) -> None:
        self.canvas.setFillGray(1)
        self.canvas.setFont(_pdf_font(face), size)
        self.canvas.drawCentredString(x, HEIGHT_PT - baseline, s)
        self.canvas.setFillGray(0)

    def width(self, s: str, face: str, size: float) -> float:
        return float(pdfmetrics.stringWidth(s, _pdf_font(face), size))

    def box(self, x: float, top: float, w: float, h: float, *, filled: bool) -> None:
        self.canvas.setLineWidth(1)
        self.canvas.setFillGray(0)
        y = HEIGHT_PT - top - h
        self.canvas.rect(x, y, w, h, stroke=0 if filled else 1, fill=1 if filled else 0)

    def code128(self, x: float, top: float, value: str) -> float:
        quiet = QUIET_MODULES * MODULE_PT
        symbol = PdfCode128(
            value,
            barWidth=MODULE_PT,
            barHeight=BARCODE_HEIGHT_PT,
            lquiet=quiet,
            rquiet=quiet,
            humanReadable=False,
        )
        symbol.drawOn(self.canvas, x, HEIGHT_PT - top - BARCODE_HEIGHT_PT)
        return float(symbol.width)

    def modules(self, x: float, top: float, matrix: list[list[bool]], module: float) -> None:
        self.canvas.setFillGray(0)
        for r, row in enumerate(matrix):
            c = 0
            while c < len(row):  # one rectangle per run of dark modules in a row
                if not row[c]:
                    c += 1
                    continue
                start = c
                while c < len(row) and row[c]:
                    c += 1
                y = HEIGHT_PT - top - (r + 1) * module
                self.canvas.rect(x + start * module, y, (c - start) * module, module, 0, 1)


def label_pdf(item: Any, *, copy: int | None = None, with_typed_text: bool = True) -> bytes:
    """The label as a one-page 4 × 2 inch PDF, text embedded, barcodes as vector shapes."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=(WIDTH_PT, HEIGHT_PT), invariant=True)
    canvas.setTitle(f"Label {item.item_id}")
    canvas.setAuthor("tilcare")
    canvas.setSubject(f"Item label, chain of identity {item.coi_din}{item.coi_check}")
    _draw(
        _PdfSurface(canvas),
        label_content(item, copy=copy, with_typed_text=with_typed_text),
    )
    canvas.showPage()
    canvas.save()
    return out.getvalue()
