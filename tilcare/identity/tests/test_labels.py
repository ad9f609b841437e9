"""Label rendering: what a label shows, and that a real barcode reader reads it back.

The PNG is read by Debian's zbarimg (zbar-tools) as it is. The PDF is read the same way after
rasterising its page: no PDF rasteriser is installed here, so `pdf_page()` below reads the page's
content stream itself (reportlab writes it ASCII85 + Flate encoded), paints every filled rectangle
(the Code 128 bars, the QR modules, the black band) at 300 dpi with Pillow and hands that image to
zbarimg; the text is read through each embedded font's ToUnicode map. zbarimg must be present:
without it these tests skip on a workstation and FAIL where CI is set.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import os
import re
import shutil
import subprocess
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image, ImageDraw

from tilcare.identity import labels
from tilcare.identity.choices import ItemKind
from tilcare.identity.tests.factories import STORAGE, ItemFactory, coi, coi_of, new_item
from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.patients.tests.factories import CenterFactory, PatientFactory

pytestmark = pytest.mark.django_db

DIN, CHECK = coi(17)  # W123426000017, check character 7
EXPIRES = dt.datetime(2026, 3, 1, 19, 0, tzinfo=dt.UTC)  # 14:00 in New York
DESCRIPTION = "TIL product, bag 1 of 2, 100 mL"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "false", "0", "no")


def zbarimg() -> str:
    path = shutil.which("zbarimg") or (
        "/usr/bin/zbarimg" if Path("/usr/bin/zbarimg").is_file() else ""
    )
    if not path:
        message = "zbarimg (Debian package zbar-tools) is not installed."
        if _in_ci():
            pytest.fail(f"{message} It is required in CI.")
        pytest.skip(message)
    return path


def read_symbols(png: bytes, tmp_path: Path) -> list[str]:
    """Every symbol zbarimg finds in the image, as text, sorted."""
    path = tmp_path / "label.png"
    path.write_bytes(png)
    result = subprocess.run(
        [zbarimg(), "--raw", "-q", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"zbarimg found nothing (exit {result.returncode})"
    return sorted(result.stdout.splitlines())


@pytest.fixture
def center():
    return CenterFactory(time_zone="America/New_York")


def make_item(center, kind=ItemKind.PRODUCT_BAG, **fields):
    values = {
        "coi_din": DIN,
        "coi_check": CHECK,
        "kind": kind,
        "center": center,
        "description": DESCRIPTION,
        "expires_at": EXPIRES,
        "storage_temperature": STORAGE,
    }
    values.update(fields)
    return ItemFactory(**values)


# --- reading a PDF page (only what reportlab writes) ------------------------------------------


@dataclass
class PdfPage:
    width: float
    height: float
    texts: list[tuple[float, float, str]] = field(default_factory=list)  # x, y, text
    filled: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    stroked: list[tuple[float, float, float, float]] = field(default_factory=list)

    def text(self) -> list[str]:
        return [t for _x, _y, t in self.texts]

    def raster(self, dpi: int = 300) -> bytes:
        scale = dpi / 72
        image = Image.new("L", (round(self.width * scale), round(self.height * scale)), 255)
        draw = ImageDraw.Draw(image)
        for x, y, w, h, gray in self.filled:
            left, top = round(x * scale), round((self.height - y - h) * scale)
            right, bottom = round((x + w) * scale), round((self.height - y) * scale)
            draw.rectangle([left, top, right - 1, bottom - 1], fill=round(gray * 255))
        out = io.BytesIO()
        image.save(out, format="PNG")
        return out.getvalue()


def _objects(data: bytes) -> dict[int, bytes]:
    return {int(m[1]): m[2] for m in re.finditer(rb"(\d+) 0 obj\s*(.*?)endobj", data, re.S)}


def _stream(body: bytes) -> bytes:
    head, _, rest = body.partition(b"stream")
    raw = rest.strip(b"\r\n")
    raw = raw[: raw.rfind(b"endstream")].rstrip(b"\r\n")
    if b"ASCII85Decode" in head:
        raw = base64.a85decode(raw.replace(b"\n", b"").removesuffix(b"~>"), adobe=False)
    if b"FlateDecode" in head:
        raw = zlib.decompress(raw)
    return raw


def _literal(s: bytes) -> bytes:
    return re.sub(
        rb"\\([0-7]{1,3}|.)",
        lambda m: bytes([int(m[1], 8)]) if m[1][:1].isdigit() else m[1],
        s,
    )


def pdf_page(data: bytes) -> PdfPage:
    objects = _objects(data)
    (page,) = [b for b in objects.values() if b"/Type /Page" in b and b"/MediaBox" in b]
    box = [float(v) for v in re.search(rb"/MediaBox \[([^\]]*)\]", page)[1].split()]
    content = _stream(objects[int(re.search(rb"/Contents (\d+) 0 R", page)[1])]).decode("latin-1")
    fonts: dict[str, dict[int, str]] = {}
    for body in objects.values():
        found = re.search(rb"/Name /(\S+) .*?/ToUnicode (\d+) 0 R", body, re.S)
        if found:
            cmap = _stream(objects[int(found[2])]).decode("ascii")
            pairs = re.findall(r"<([0-9A-F]{2})> <([0-9A-F]{4})>", cmap)
            fonts[found[1].decode()] = {int(c, 16): chr(int(u, 16)) for c, u in pairs}
    result = PdfPage(width=box[2] - box[0], height=box[3] - box[1])
    for block in re.findall(r"BT (.*?) ET", content, re.S):
        if " Tj" not in block:
            continue  # reportlab's opening block only sets the default font
        x, y = (float(v) for v in re.search(r"1 0 0 1 (\S+) (\S+) Tm", block).groups())
        font = re.search(r"/(\S+) \S+ Tf", block)[1]
        raw = _literal(re.search(r"\((.*)\) Tj", block, re.S)[1].encode("latin-1"))
        result.texts.append((x, y, "".join(fonts[font][code] for code in raw)))
    graphics = re.sub(r"BT .*? ET", "", content, flags=re.S).split()
    stack, offset, gray, numbers, pending = [], (0.0, 0.0), 0.0, [], None
    for token in graphics:
        if re.fullmatch(r"-?[\d.]+", token):
            numbers.append(float(token))
            continue
        if token == "q":
            stack.append(offset)
        elif token == "Q":
            offset = stack.pop()
        elif token == "cm":
            offset = (offset[0] + numbers[-2], offset[1] + numbers[-1])
        elif token == "g":
            gray = numbers[-1]
        elif token == "re":
            x, y, w, h = numbers[-4:]
            pending = (x + offset[0], y + offset[1], w, h)
        elif token in ("f", "f*") and pending:
            result.filled.append((*pending, gray))
        elif token == "S" and pending:
            result.stroked.append(pending)
        numbers = []
    return result


# --- what a label says -----------------------------------------------------------------------


def test_content_carries_the_coi_item_id_and_the_1271_370_fields(center):
    item = make_item(center)
    content = labels.label_content(item, copy=3)
    assert (content.coi_spaced, content.coi_check, content.item_id) == (
        "W1234 26 000017",
        "7",
        f"{DIN}-BG01",
    )
    assert content.qr_text == f"{DIN}-BG01|{DIN}7"
    assert (content.kind_line, content.description) == ("Product bag 01", DESCRIPTION)
    # Expiry in the center's own time zone, with the zone named
    assert content.expiry == "2026-03-01 14:00 EST"
    assert (content.storage, content.autologous, content.copy_line) == (
        STORAGE,
        True,
        "Label copy 3",
    )


@pytest.mark.parametrize(
    ("kind", "autologous"),
    [
        (ItemKind.PRODUCT_BAG, True),
        (ItemKind.CASSETTE, True),
        (ItemKind.TUMOR_SPECIMEN, False),
        (ItemKind.CULTURE, False),
        (ItemKind.SHIPPER, False),
    ],
)
def test_autologous_statement_only_on_product_bags_and_cassettes(center, kind, autologous):
    item = make_item(center, kind=kind)
    assert labels.label_content(item).autologous is autologous
    assert (labels.AUTOLOGOUS_STATEMENT in pdf_page(labels.label_pdf(item)).text()) is autologous


def test_later_attempt_is_named_and_missing_fields_are_left_out(center):
    item = make_item(center, manufacture_attempt=2, expires_at=None, storage_temperature="")
    text = pdf_page(labels.label_pdf(item)).text()
    assert "Product bag 01 · attempt 2" in text
    assert not {"EXPIRES", "STORE AT"} & set(text)


def test_rendering_only_reads(center):
    item = make_item(center)
    with CaptureQueriesContext(connection) as queries:
        labels.label_png(item)
        labels.label_pdf(item)
    assert all(q["sql"].lstrip().upper().startswith("SELECT") for q in queries.captured_queries)


# --- PNG --------------------------------------------------------------------------------------


def test_png_is_four_by_two_inches_at_300_dpi(center):
    image = Image.open(io.BytesIO(labels.label_png(make_item(center))))
    assert (image.format, image.size) == ("PNG", (1200, 600))
    assert tuple(round(v) for v in image.info["dpi"]) == (300, 300)


@pytest.mark.parametrize("kind", list(ItemKind))
def test_png_barcodes_read_back_as_the_item_id_and_coi(center, kind, tmp_path):
    # Given an item of each kind
    item = make_item(center, kind=kind)
    # When its PNG label is read by zbarimg
    symbols = read_symbols(labels.label_png(item), tmp_path)
    # Then the Code 128 gives exactly the item id and the QR code the item id and the COI
    assert symbols == sorted([item.item_id, f"{item.item_id}|{DIN}7"])


# --- PDF --------------------------------------------------------------------------------------


def test_pdf_is_one_four_by_two_inch_page(center):
    data = labels.label_pdf(make_item(center))
    assert data.startswith(b"%PDF-")
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") == 1
    page = pdf_page(data)
    assert (page.width, page.height) == (288, 144)


def test_pdf_barcodes_read_back_as_the_item_id_and_coi(center, tmp_path):
    item = make_item(center, kind=ItemKind.CASSETTE)
    symbols = read_symbols(pdf_page(labels.label_pdf(item)).raster(), tmp_path)
    assert symbols == sorted([item.item_id, f"{item.item_id}|{DIN}7"])


def test_pdf_text_shows_the_label_fields(center):
    page = pdf_page(labels.label_pdf(make_item(center), copy=2))
    text = page.text()
    for expected in (
        "W1234 26 000017",
        f"{DIN}-BG01",
        "Product bag 01",
        DESCRIPTION,
        "2026-03-01 14:00 EST",
        "≤ −150 °C (vapor phase of",
        "liquid nitrogen)",
        labels.AUTOLOGOUS_STATEMENT,
        "Label copy 2",
    ):
        assert expected in text


def test_pdf_check_character_is_boxed(center):
    page = pdf_page(labels.label_pdf(make_item(center)))
    (x, y) = next((x, y) for x, y, t in page.texts if t == CHECK)
    assert any(bx < x and x < bx + bw and by < y < by + bh for bx, by, bw, bh in page.stroked)


def test_long_description_is_shortened_not_spilled(center):
    item = make_item(center, description="Cryopreserved TIL suspension " * 6)
    (line,) = [t for t in pdf_page(labels.label_pdf(item)).text() if t.startswith("Cryopreserved")]
    assert line.endswith("…")
    assert len(line) < len(item.description)


def test_label_of_a_real_journey_carries_no_patient_identity(tmp_path):
    # Given a journey of Theodora Lindqvist (MRN004512, born 1968-04-12) and its product bag
    team = make_team(CenterFactory(isbt_fin="W1234"))
    patient = PatientFactory(
        center=team.center, given_name="Theodora", family_name="Lindqvist", mrn="MRN004512"
    )
    journey = open_journey_for(patient, team.navigator)
    din, check = coi_of(journey)
    item = new_item(team, journey)
    # When its label is drawn
    page = pdf_page(labels.label_pdf(item))
    text = " ".join(page.text())
    # Then it shows the COI and item id, and nothing that names the patient
    assert f"{din[:5]} {din[5:7]} {din[7:]}" in text
    assert item.item_id in text
    for value in ("Theodora", "Lindqvist", "MRN004512", "1968"):
        assert value not in text
    assert read_symbols(page.raster(), tmp_path) == sorted(
        [item.item_id, f"{item.item_id}|{din}{check}"]
    )
