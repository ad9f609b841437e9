"""The protocol settings pages: the list of protocols with the center's standing, one protocol's
settings (in force, awaiting signatures, history), the form that enters a version, and the
signature and discard that follow."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.urls import reverse

from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.tests.clients import client_for, row_counts
from tilcare.journey.tests.factories import CareTeam, make_team
from tilcare.patients.tests.factories import TEST_PASSWORD, CenterFactory, UserFactory
from tilcare.protocols.loader import load_protocol
from tilcare.treatment.choices import ActivationStatus
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.tests.factories import (
    LIFILEUCEL,
    LIFILEUCEL_VALUES,
    NKI,
    RENAL_BANDS,
    activate,
)
from tilcare.treatment.views.common import sections_of

pytestmark = pytest.mark.django_db

LIST = reverse("treatment:protocols")
DETAIL = reverse(
    "treatment:protocol", kwargs={"protocol_id": LIFILEUCEL[0], "version": LIFILEUCEL[1]}
)
EDIT = reverse(
    "treatment:protocol_edit", kwargs={"protocol_id": LIFILEUCEL[0], "version": LIFILEUCEL[1]}
)
WRITTEN = (ProtocolActivation, Signature, AuditEvent)


def sign_url(activation: ProtocolActivation) -> str:
    return reverse("treatment:protocol_sign", kwargs={"public_id": activation.public_id})


def discard_url(activation: ProtocolActivation) -> str:
    return reverse("treatment:protocol_discard", kwargs={"public_id": activation.public_id})


def form_post(values: dict[str, object], reason: str = "") -> dict[str, str]:
    """The edit form's fields for `values` (as stored): bands spread over the table's rows."""
    data: dict[str, str] = {"reason": reason}
    for key, value in values.items():
        if key == "bsa_cap_m2":
            data[key] = "none" if value == "no cap" else "number"
            data["bsa_cap_m2_amount"] = "" if value == "no cap" else str(value)
        elif isinstance(value, list):
            cells = [
                band[c]
                for band in value
                for c in ("crcl_from_ml_per_min", "crcl_to_ml_per_min", "dose")
            ]
            for i, cell in enumerate(cells):
                data[f"{key}_{i}"] = cell
        else:
            data[key] = str(value)
    return data


def text_of(response) -> str:
    """The page's text with tags dropped and spaces squeezed, as a reader sees it."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ---------- Who may open the pages ----------


@pytest.mark.parametrize("role", ["pharmacist", "physician", "nurse"])
def test_the_list_and_the_protocol_page_open_for_the_centers_clinical_staff(team, in_force, role):
    client = client_for(team.by_role(role))

    listing = client.get(LIST)
    detail = client.get(DETAIL)

    assert listing.status_code == 200
    assert "Lifileucel (Amtagvi), US label regimen 2024" in text_of(listing)
    assert "Not activated: a pharmacist and a treating physician" in text_of(listing)  # NKI
    assert detail.status_code == 200
    assert "Settings in force: version 1" in text_of(detail)


@pytest.mark.parametrize("role", ["pharmacist", "physician"])
def test_the_edit_page_opens_for_a_pharmacist_and_a_physician(team, role):
    response = client_for(team.by_role(role)).get(EDIT)

    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.fields) >= {"mesna_dose", "fludarabine_renal_bands", "bsa_cap_m2", "reason"}


def test_the_thaw_limit_is_entered_and_read_under_infusion_day(team, in_force):
    # The edit page asks for it in minutes, in the infusion day's group, after IL-2
    edit = client_for(team.pharmacist).get(EDIT)
    sections = {s["title"]: s["items"] for s in edit.context["sections"]}
    titles = list(sections)
    assert titles[titles.index("Infusion day") - 1] == "IL-2"
    [thaw] = sections["Infusion day"]
    assert (thaw["field"].name, thaw["unit"]) == ("thaw_to_infusion_limit_minutes", "min")
    # The protocol page shows the value in force in the same group
    detail = client_for(team.nurse).get(DETAIL)
    rows = {
        row.key: (section.title, row.value)
        for section in detail.context["active_sections"]
        for row in section.rows
    }
    assert rows["thaw_to_infusion_limit_minutes"] == ("Infusion day", "60 min")
    # NKI's infusion window joins it there
    nki = load_protocol(*NKI)
    assert [spec.key for spec in dict(sections_of(nki))["Infusion day"]] == [
        "infusion_earliest_hours",
        "infusion_latest_hours",
        "thaw_to_infusion_limit_minutes",
    ]


def test_the_filgrastim_dose_is_entered_in_ug_per_kg_and_read_for_lifileucel_only(team, in_force):
    # The label gives filgrastim from Day 1 but no dose: the center enters it, in µg/kg.
    edit = client_for(team.pharmacist).get(EDIT)
    items = {
        item["field"].name: item["unit"] for s in edit.context["sections"] for item in s["items"]
    }
    assert items["filgrastim_dose_ug_per_kg"] == "µg/kg"
    detail = client_for(team.nurse).get(DETAIL)
    rows = {row.key: row.value for s in detail.context["active_sections"] for row in s.rows}
    assert rows["filgrastim_dose_ug_per_kg"] == "5 µg/kg"
    # The NKI sources give no filgrastim: nothing to enter there.
    nki = load_protocol(*NKI)
    assert "filgrastim_dose_ug_per_kg" not in [
        spec.key for _, specs in sections_of(nki) for spec in specs
    ]


def test_a_nurse_reads_the_settings_but_is_offered_no_edit_sign_or_discard(team, entered):
    client = client_for(team.nurse)

    detail = client.get(DETAIL)
    edit = client.get(EDIT)
    before = row_counts(*WRITTEN)
    sign = client.post(sign_url(entered), {"sign-password": TEST_PASSWORD})
    discard = client.post(discard_url(entered), {"discard-reason": "Wrong values"})

    assert detail.status_code == 200
    assert "sign_form" not in detail.context and "discard_form" not in detail.context
    assert EDIT not in detail.content.decode()
    assert (edit.status_code, sign.status_code, discard.status_code) == (403, 403, 403)
    assert row_counts(*WRITTEN) == before


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_facility_staff_are_refused_every_page(team, entered, role):
    client = client_for(team.by_role(role))
    before = row_counts(*WRITTEN)

    answers = [client.get(url).status_code for url in (LIST, DETAIL, EDIT)]
    sign = client.post(sign_url(entered), {"sign-password": TEST_PASSWORD})

    assert answers == [403, 403, 403]
    assert sign.status_code == 404  # another organization's record: not theirs to know of
    assert row_counts(*WRITTEN) == before


def test_a_patient_is_refused_every_page(team):
    patient_user = UserFactory(role="patient", organization=team.center)
    client = client_for(patient_user)

    answers = [client.get(url).status_code for url in (LIST, DETAIL, EDIT)]

    assert answers == [403, 403, 403]


def test_another_centers_version_is_not_found(team, entered):
    other = make_team()
    before = row_counts(*WRITTEN)

    response = client_for(other.pharmacist).post(
        sign_url(entered), {"sign-password": TEST_PASSWORD}
    )

    assert response.status_code == 404
    assert row_counts(*WRITTEN) == before


def test_an_unknown_protocol_or_version_is_not_found(team):
    client = client_for(team.pharmacist)

    wrong_version = reverse(
        "treatment:protocol", kwargs={"protocol_id": LIFILEUCEL[0], "version": "1999"}
    )
    unknown = reverse("treatment:protocol", kwargs={"protocol_id": "nope", "version": "2024"})

    assert client.get(wrong_version).status_code == 404
    assert client.get(unknown).status_code == 404
    assert client.get(DETAIL + "?version=7").status_code == 404


# ---------- Entering a version ----------


def test_good_values_create_the_version_awaiting_signatures(team):
    client = client_for(team.pharmacist)

    response = client.post(EDIT, form_post(LIFILEUCEL_VALUES))

    assert response.status_code == 302
    assert response["Location"] == DETAIL
    activation = ProtocolActivation.objects.get()
    assert activation.status == ActivationStatus.AWAITING_SIGNATURES
    assert activation.number == 1
    assert activation.entered_by == team.pharmacist
    assert activation.values == {**LIFILEUCEL_VALUES, "fludarabine_renal_bands": RENAL_BANDS}
    page = text_of(client.get(DETAIL))
    assert "Version 1 awaiting the signature of the pharmacist and the treating physician" in page


def test_a_value_out_of_range_is_refused_on_its_field_and_nothing_is_written(team):
    client = client_for(team.pharmacist)
    before = row_counts(*WRITTEN)

    response = client.post(EDIT, form_post({**LIFILEUCEL_VALUES, "mesna_dose": "500"}))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["mesna_dose"]
    assert "500 mg/kg is above the allowed maximum 120 mg/kg" in errors["mesna_dose"][0]
    assert row_counts(*WRITTEN) == before


def test_renal_bands_with_a_gap_are_refused_on_the_bands_field(team):
    bands = [
        {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "49", "dose": "15"},
        {"crcl_from_ml_per_min": "55", "crcl_to_ml_per_min": "79", "dose": "20"},
    ]
    before = row_counts(*WRITTEN)

    response = client_for(team.physician).post(
        EDIT, form_post({**LIFILEUCEL_VALUES, "fludarabine_renal_bands": bands})
    )

    errors = response.context["form"].errors
    assert list(errors) == ["fludarabine_renal_bands"]
    assert "the next band must start at 50 mL/min" in errors["fludarabine_renal_bands"][0]
    assert row_counts(*WRITTEN) == before


def test_a_number_written_with_an_underscore_is_refused(team):
    before = row_counts(*WRITTEN)

    response = client_for(team.pharmacist).post(
        EDIT, form_post({**LIFILEUCEL_VALUES, "mesna_dose": "6_0"})
    )

    assert list(response.context["form"].errors) == ["mesna_dose"]
    assert row_counts(*WRITTEN) == before


def test_the_form_starts_from_the_version_in_force(team, in_force):
    response = client_for(team.pharmacist).get(EDIT)

    form = response.context["form"]
    assert form["mesna_dose"].value() == "60"
    assert form["bsa_cap_m2"].value() == "none"
    assert form["cyclophosphamide_weight_basis"].value() == "actual"
    html = response.content.decode()
    assert 'name="fludarabine_renal_bands_0" value="40"' in html
    assert 'name="fludarabine_renal_bands_5" value="20"' in html


def test_a_second_version_needs_a_reason(team, in_force):
    client = client_for(team.physician)
    changed = form_post({**LIFILEUCEL_VALUES, "mesna_dose": "50"})
    before = row_counts(*WRITTEN)

    refused = client.post(EDIT, changed)
    after_refusal = row_counts(*WRITTEN)
    saved = client.post(EDIT, {**changed, "reason": "Mesna per the new pharmacy standard."})

    assert refused.status_code == 200
    assert list(refused.context["form"].errors) == ["reason"]
    assert (
        "Say what changes from the version in force and why"
        in refused.context["form"].errors["reason"][0]
    )
    assert after_refusal == before
    assert saved.status_code == 302
    second = ProtocolActivation.objects.get(number=2)
    assert second.reason == "Mesna per the new pharmacy standard."
    page = client.get(DETAIL)
    assert page.context["pending_changes"] == 1
    assert "(in force: 60 mg/kg)" in text_of(page)


# ---------- Signing and discarding ----------


def test_a_pharmacist_then_a_physician_sign_and_the_version_is_in_force(team, entered):
    pharmacist, physician = client_for(team.pharmacist), client_for(team.physician)

    first = pharmacist.post(sign_url(entered), {"sign-password": TEST_PASSWORD})
    between = text_of(pharmacist.get(DETAIL))
    second = physician.post(sign_url(entered), {"sign-password": TEST_PASSWORD})
    page = text_of(physician.get(DETAIL))

    assert (first.status_code, second.status_code) == (302, 302)
    assert "Version 1 awaiting the signature of the treating physician" in between
    entered.refresh_from_db()
    assert entered.status == ActivationStatus.ACTIVE
    assert (
        f"In force: version 1, signed by {team.pharmacist.printed_name} (pharmacist) and "
        f"{team.physician.printed_name} (treating physician) on"
    ) in page
    assert "In force" in text_of(physician.get(LIST))


def test_a_wrong_password_is_shown_on_the_page_and_nothing_is_written(team, entered):
    before = row_counts(*WRITTEN)

    response = client_for(team.pharmacist).post(sign_url(entered), {"sign-password": "wrong"})

    assert response.status_code == 200
    assert response.context["sign_form"].errors == {
        "password": ["The password is not correct. Enter your own password to sign."]
    }
    assert "The password is not correct" in text_of(response)
    assert row_counts(*WRITTEN) == before


def test_discarding_needs_a_reason(team, entered):
    client = client_for(team.physician)
    before = row_counts(*WRITTEN)

    refused = client.post(discard_url(entered), {"discard-reason": "  "})
    after_refusal = row_counts(*WRITTEN)
    discarded = client.post(discard_url(entered), {"discard-reason": "Wrong bands entered."})

    assert refused.status_code == 200
    assert refused.context["discard_form"].errors == {
        "reason": ["Say why this version is discarded (required)."]
    }
    assert after_refusal == before
    assert discarded.status_code == 302
    entered.refresh_from_db()
    assert (entered.status, entered.end_reason) == (
        ActivationStatus.DISCARDED,
        "Wrong bands entered.",
    )
    page = text_of(client.get(DETAIL))
    assert "Not activated" in page
    assert "Ended: Wrong bands entered." in page


def test_an_earlier_version_stays_readable(team, in_force):
    activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        values={**LIFILEUCEL_VALUES, "mesna_dose": "40"},
        reason="Lower mesna.",
    )

    page = client_for(team.nurse).get(DETAIL + "?version=1")

    assert page.status_code == 200
    assert page.context["shown_version"]["activation"].status == ActivationStatus.SUPERSEDED
    shown = [row.value for s in page.context["shown_sections"] for row in s.rows]
    active = [row.value for s in page.context["active_sections"] for row in s.rows]
    assert "60 mg/kg" in shown
    assert "40 mg/kg" in active


# ---------- Dates in the center's zone ----------


# 23:30 UTC is already the next day in Amsterdam; 05:30 UTC is still the day before in Los Angeles.
LATE_UTC = dt.datetime(2026, 1, 15, 23, 30, tzinfo=dt.UTC)
EARLY_UTC = dt.datetime(2026, 1, 16, 5, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zone", "moment", "shown"),
    [
        ("Europe/Amsterdam", LATE_UTC, "16 Jan 2026, 00:30 CET"),
        ("America/Los_Angeles", EARLY_UTC, "15 Jan 2026, 21:30 PST"),
    ],
)
def test_the_signature_date_is_shown_in_the_centers_zone(zone, moment, shown):
    team: CareTeam = make_team(CenterFactory(name="Zoned Cancer Center", time_zone=zone))
    with time_machine.travel(moment, tick=False):
        activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=NKI)
        page = text_of(
            client_for(team.nurse).get(
                reverse("treatment:protocol", kwargs={"protocol_id": NKI[0], "version": NKI[1]})
            )
        )

    assert f"(treating physician) on {shown}" in page
