"""The demo center's protocol settings: lifileucel in force as version 2 after version 1, the NKI
protocol awaiting its physician, each signature by the demo's pharmacist and physician."""

from __future__ import annotations

import html

import pytest

from tilcare.accounts.models import Organization, User
from tilcare.audit.models import AuditEvent
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.demo.people import CENTER_NAME
from tilcare.demo.tests.helpers import client_for
from tilcare.journey.choices import Protocol
from tilcare.journey.models import Journey
from tilcare.treatment.choices import ActivationStatus
from tilcare.treatment.selectors import activation_history

pytestmark = pytest.mark.django_db

LIFILEUCEL = ProtocolRef("lifileucel_us", "2024")
NKI = ProtocolRef("nki_phase3", "2022")


def center() -> Organization:
    return Organization.objects.get(name=CENTER_NAME)


def test_lifileucel_is_in_force_as_version_2_after_version_1(demo):
    pharmacist = User.objects.get(username="pharmacist")
    physician = User.objects.get(username="physician")

    newest, first = activation_history(center(), LIFILEUCEL)

    assert (newest.number, newest.status) == (2, ActivationStatus.ACTIVE)
    assert (first.number, first.status) == (1, ActivationStatus.SUPERSEDED)
    assert first.end_reason == "Replaced by version 2."
    assert newest.values["bsa_cap_m2"] == "2.2"
    assert first.values["bsa_cap_m2"] == "no cap"
    assert newest.reason.startswith("BSA cap set to 2.2 m² by the pharmacy and therapeutics")
    for version in (newest, first):
        assert version.entered_by == pharmacist
        assert version.pharmacist_signature.signer == pharmacist
        assert version.physician_signature.signer == physician


def test_the_nki_protocol_awaits_the_physician_s_signature(demo):
    (only,) = activation_history(center(), NKI)

    assert (only.number, only.status) == (1, ActivationStatus.AWAITING_SIGNATURES)
    assert only.pharmacist_signature.signer.username == "pharmacist"
    assert only.physician_signature is None


def test_each_step_is_on_the_audit_trail(demo):
    actions = list(
        AuditEvent.objects.filter(action__startswith="treatment.protocol_settings.")
        .order_by("seq")
        .values_list("action", flat=True)
    )

    assert [action.rsplit(".", 1)[1] for action in actions] == [
        "enter", "sign", "activate",  # lifileucel version 1
        "enter", "sign", "supersede", "activate",  # version 2 replaces it
        "enter", "sign",  # NKI version 1, the pharmacist's signature
    ]  # fmt: skip


def test_the_nurse_s_calculator_is_filled_from_version_2(demo):
    page = client_for("nurse").get("/calculators/lymphodepletion-lifileucel-us-2024/")

    text = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert (
        "Center settings: version 2 in force, signed by Hannah Kim, PharmD, BCOP (pharmacist) "
        "and Priya Raman, MD (treating physician) on"
    ) in text


def test_a_journey_page_shows_the_settings_its_protocol_is_under(demo):
    nki = Journey.objects.filter(protocol=Protocol.NKI_TIL_2022).first()
    lifileucel = Journey.objects.filter(protocol=Protocol.LIFILEUCEL_US_2024).first()
    client = client_for("navigator")

    assert nki is not None and lifileucel is not None
    shown = html.unescape(client.get(f"/journeys/{lifileucel.public_id}/").content.decode())
    assert "center settings version 2 in force (signed by Hannah Kim" in shown
    shown = html.unescape(client.get(f"/journeys/{nki.public_id}/").content.decode())
    assert "Version 1 awaits signatures." in shown
