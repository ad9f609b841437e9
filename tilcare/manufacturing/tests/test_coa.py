"""The certificate of analysis: a PDF with the COI identifier (and its check character), attempt,
protocol, bags, each test with specification, result and outcome, and the disposition with its
signatures; never the patient's name, record number or date of birth."""

from __future__ import annotations

import base64
import re
import zlib

import pytest

from tilcare.manufacturing import coa
from tilcare.manufacturing.choices import Disposition, ReleaseTestKind
from tilcare.manufacturing.services import release as release_services
from tilcare.manufacturing.tests.test_release_services import (
    FAILING_VIABILITY,
    IDENTITY,
    Scene,
    decide,
    expiry,
    formulate,
    fresh,
    ready_for_disposition,
    released_by_qa,
)
from tilcare.patients.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

K = ReleaseTestKind


def pdf_text(data: bytes) -> str:
    """The text drawn in a reportlab PDF: its content streams, inflated. reportlab keeps ASCII
    characters as they are in the strings it draws, so plain words can be searched for."""
    parts = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = stream.strip()
        if raw.endswith(b"~>"):  # ASCII85 around the deflated stream
            raw = base64.a85decode(raw[:-2].replace(b"\n", b""))
        try:
            parts.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            parts.append(raw.decode("latin-1"))
    # A paragraph wrapped over lines is drawn line by line: join them back with a space.
    return re.sub(r"\)\s*Tj\s*T\*\s*(?:[-\d.]+\s+Tw\s*)?\(", " ", "\n".join(parts))


def spaced(scene: Scene) -> str:
    d = scene.batch.coi_din
    return f"{d[:5]} {d[5:7]} {d[7:]} {scene.batch.coi_check}"


def test_the_certificate_is_a_pdf_with_the_coi_each_test_and_the_signature(scene):
    # Given a product released by QA
    released_by_qa(scene)

    # When its certificate is drawn
    data = coa.coa_pdf(fresh(scene.batch))

    # Then it is a PDF that names the COI (with its check character), the attempt and protocol
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    for expected in (
        "Certificate of analysis",
        spaced(scene),
        "lifileucel_us version 2024",
        f"{scene.batch.coi_din}-BG01",
        f"{scene.batch.coi_din}-BG02",
        # each test and its outcome
        "Viability",
        "Sterility",
        "Endotoxin",
        "Mycoplasma",
        "Potency",
        "No growth",
        "PASS",
        # the decision and QA's signature (printed name and meaning)
        "Decision: Release",
        scene.team.qa_reviewer.printed_name,
        "QA release",
    ):
        assert expected in text, expected
    assert "FAIL" not in text


def test_the_certificate_names_no_patient(scene):
    released_by_qa(scene)

    data = coa.coa_pdf(fresh(scene.batch))

    text = pdf_text(data)
    for identity in IDENTITY:
        assert identity not in text
        assert identity.encode() not in data


def test_an_exception_shows_the_failed_test_and_the_physicians_acknowledgement(scene):
    ready_for_disposition(scene, **{K.VIABILITY: FAILING_VIABILITY})
    decide(
        scene, Disposition.RELEASE_EXCEPTION, reason="No alternative product.", expires_at=expiry()
    )
    before = pdf_text(coa.coa_pdf(fresh(scene.batch)))
    release_services.acknowledge_exception(
        fresh(scene.batch), password=TEST_PASSWORD, actor=scene.team.physician
    )

    after = pdf_text(coa.coa_pdf(fresh(scene.batch)))

    assert "FAIL" in before
    assert "NOT released" in before
    assert scene.team.physician.printed_name not in before
    assert scene.team.physician.printed_name in after
    assert "Release under exception acknowledged by treating physician" in after
    assert "Reason: No alternative product." in after


def test_the_summary_marks_missing_tests_before_any_result(scene):
    formulate(scene)

    summary = coa.release_summary(fresh(scene.batch))

    assert summary.missing == [k.label for k in K]
    dose = next(row for row in summary.tests if row.kind == K.VIABLE_CELL_DOSE)
    assert dose.specification == (
        "7.5 to 72 ×10⁹ viable cells in 1 to 4 bags (protocol lifileucel_us version 2024)"
    )
    viability = next(row for row in summary.tests if row.kind == K.VIABILITY)
    assert (viability.specification, viability.outcome) == ("", "Not recorded")
