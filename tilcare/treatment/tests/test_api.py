"""The protocol settings API: entered by a pharmacist, signed by the pharmacist and the treating
physician, then in force; read by the center's staff only. Refusals are 403 (a role that may not
act, a second signature by the same role), 404 (another center's version, a facility's user),
422 (the field or setting and its limit), and a refused request writes nothing."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import TEST_PASSWORD, UserFactory
from tilcare.treatment.choices import ActivationStatus
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.schemas import SETTING_AS_TEXT
from tilcare.treatment.tests.factories import (
    LIFILEUCEL,
    LIFILEUCEL_VALUES,
    RENAL_BANDS,
    activate,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/treatment/protocol-settings"
PHARMACIST_MEANING = "Protocol settings verified by pharmacist"
PHYSICIAN_MEANING = "Protocol settings approved by treating physician"
NOT_ENTERER = "Only a pharmacist or a treating physician of this center enters protocol settings."
NOT_SIGNER = (
    "Only a pharmacist or a treating physician of this center signs protocol settings, each "
    "once, while the version awaits their signature."
)
NOT_FOUND = {"detail": "Not found."}


def body(values: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An entry of Riverside's complete lifileucel settings, with `values` changed."""
    entered = copy.deepcopy(LIFILEUCEL_VALUES)
    entered.update(values or {})
    return {
        "protocol_id": LIFILEUCEL[0],
        "protocol_version": LIFILEUCEL[1],
        "values": entered,
        **extra,
    }


def counts() -> tuple[int, ...]:
    return row_counts(ProtocolActivation, Signature, AuditEvent)


def enter(user: Any, payload: dict[str, Any]) -> Any:
    return post_json(client_for(user), API, payload)


def sign(user: Any, activation: ProtocolActivation, password: str = TEST_PASSWORD) -> Any:
    return post_json(
        client_for(user), f"{API}/{activation.public_id}/signatures", {"password": password}
    )


# ---------- the happy path ----------


def test_entered_then_signed_by_pharmacist_and_physician_is_in_force(team):
    # When the pharmacist enters the settings
    entered = enter(team.pharmacist, body())

    # Then a first version awaits both signatures, holding the values as stored
    assert entered.status_code == 201
    version = entered.json()
    assert (version["number"], version["status"], version["signatures"]) == (
        1,
        "awaiting_signatures",
        [],
    )
    assert version["values"] == LIFILEUCEL_VALUES
    assert version["entered_by"] == team.pharmacist.printed_name
    activation = ProtocolActivation.objects.get(public_id=version["public_id"])

    # When the pharmacist signs
    first = sign(team.pharmacist, activation)

    # Then the signature is theirs and the version still awaits the physician
    assert first.status_code == 201
    answer = first.json()
    assert (answer["status"], answer["signature"]["role"], answer["signature"]["meaning"]) == (
        "awaiting_signatures",
        "pharmacist",
        PHARMACIST_MEANING,
    )
    assert answer["signature"]["printed_name"] == team.pharmacist.printed_name
    assert answer["signature"]["valid"] is True

    # When the physician signs
    second = sign(team.physician, activation)

    # Then the version is in force, with both signatures
    assert second.status_code == 201
    answer = second.json()
    assert (answer["status"], answer["signature"]["role"]) == ("active", "physician")
    signatures = answer["version"]["signatures"]
    assert [(s["role"], s["printed_name"], s["meaning"]) for s in signatures] == [
        ("pharmacist", team.pharmacist.printed_name, PHARMACIST_MEANING),
        ("physician", team.physician.printed_name, PHYSICIAN_MEANING),
    ]
    assert answer["version"]["activated_at"] is not None
    activation.refresh_from_db()
    assert activation.status == ActivationStatus.ACTIVE


def test_changing_the_unsigned_version_answers_200_with_the_same_version(team, entered):
    # When the pharmacist changes the mesna dose before anyone signed
    response = enter(team.pharmacist, body({"mesna_dose": "50"}))

    # Then the same version is changed, not a second one written
    assert response.status_code == 200
    assert (response.json()["public_id"], response.json()["number"]) == (
        str(entered.public_id),
        1,
    )
    assert response.json()["values"]["mesna_dose"] == "50"
    assert ProtocolActivation.objects.count() == 1


def test_a_blank_setting_is_left_out_of_the_stored_values(team):
    response = enter(team.physician, body({"mesna_dose": "", "bsa_cap_m2": None}))

    assert response.status_code == 201
    values = response.json()["values"]
    assert "mesna_dose" not in values
    assert "bsa_cap_m2" not in values


# ---------- reading ----------


def test_the_list_shows_each_protocol_with_the_version_in_force_and_the_one_awaiting(team):
    # Given version 1 in force and version 2 awaiting signatures
    in_force = activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
    pending = enter(team.pharmacist, body({"mesna_dose": "50"}, reason="Lower mesna dose."))
    assert pending.status_code == 201

    # When a nurse of the center reads the list
    response = client_for(team.nurse).get(API)

    # Then each shipped protocol is listed; lifileucel shows both versions
    assert response.status_code == 200
    standings = {(s["protocol_id"], s["protocol_version"]): s for s in response.json()}
    assert set(standings) == {("lifileucel_us", "2024"), ("nki_phase3", "2022")}
    lifileucel = standings[LIFILEUCEL]
    assert lifileucel["in_force"]["public_id"] == str(in_force.public_id)
    assert lifileucel["in_force"]["signed_by"] == ["pharmacist", "physician"]
    assert (
        lifileucel["awaiting_signatures"]["number"],
        lifileucel["awaiting_signatures"]["signed_by"],
    ) == (2, [])
    assert standings[("nki_phase3", "2022")]["in_force"] is None
    assert standings[("nki_phase3", "2022")]["awaiting_signatures"] is None


def test_one_version_with_its_values_reason_and_signatures(team, in_force):
    response = client_for(team.navigator).get(f"{API}/{in_force.public_id}")

    assert response.status_code == 200
    version = response.json()
    assert {k: version[k] for k in ("protocol_id", "protocol_version", "number", "status")} == {
        "protocol_id": "lifileucel_us",
        "protocol_version": "2024",
        "number": 1,
        "status": "active",
    }
    assert version["values"]["fludarabine_renal_bands"] == RENAL_BANDS
    assert version["values"]["mesna_dose"] == "60"
    assert [s["role"] for s in version["signatures"]] == ["pharmacist", "physician"]
    assert (version["ended_at"], version["end_reason"], version["reason"]) == (None, "", "")


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_a_facility_user_gets_404_for_a_version_and_403_for_the_list(team, in_force, role):
    user = getattr(team, role)

    read = client_for(user).get(f"{API}/{in_force.public_id}")
    assert (read.status_code, read.json()) == (404, NOT_FOUND)
    listed = client_for(user).get(API)
    assert (listed.status_code, listed.json()) == (
        403,
        {"detail": "Only the center's clinical staff see its protocol settings."},
    )


def test_another_centers_pharmacist_gets_404_for_reading_signing_and_discarding(team, entered):
    other = make_team().pharmacist
    before = counts()

    read = client_for(other).get(f"{API}/{entered.public_id}")
    signed = sign(other, entered)
    discarded = post_json(
        client_for(other), f"{API}/{entered.public_id}/discard", {"reason": "Not ours."}
    )

    assert [(r.status_code, r.json()) for r in (read, signed, discarded)] == [(404, NOT_FOUND)] * 3
    assert counts() == before


def test_an_unknown_or_malformed_id_is_404(team):
    for public_id in (uuid.uuid4(), "not-a-uuid"):
        response = client_for(team.pharmacist).get(f"{API}/{public_id}")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_a_patient_is_refused_at_the_api(team, entered):
    patient_user = UserFactory(role=Role.PATIENT, organization=team.center)
    before = counts()

    responses = [
        client_for(patient_user).get(API),
        client_for(patient_user).get(f"{API}/{entered.public_id}"),
        enter(patient_user, body()),
        sign(patient_user, entered),
    ]

    assert [r.status_code for r in responses] == [403] * 4
    assert counts() == before


# ---------- who may enter, sign, discard ----------


@pytest.mark.parametrize("role", ["nurse", "navigator", "manufacturing_tech", "qa_reviewer"])
def test_a_role_that_does_not_enter_settings_gets_403_and_nothing_is_written(team, role):
    before = counts()

    response = enter(getattr(team, role), body())

    assert (response.status_code, response.json()) == (403, {"detail": NOT_ENTERER})
    assert counts() == before


def test_a_nurse_may_not_sign(team, entered):
    before = counts()

    response = sign(team.nurse, entered)

    assert (response.status_code, response.json()) == (403, {"detail": NOT_SIGNER})
    assert counts() == before


def test_the_same_role_signing_twice_is_refused_with_403(team, entered):
    assert sign(team.pharmacist, entered).status_code == 201
    before = counts()

    # When a second pharmacist of the center signs the same version
    colleague = UserFactory(role=Role.PHARMACIST, organization=team.center)
    response = sign(colleague, entered)

    # Then the pharmacist's signature is already in: refused, nothing written
    assert (response.status_code, response.json()) == (403, {"detail": NOT_SIGNER})
    assert counts() == before


def test_a_wrong_password_is_refused_on_the_password_and_nothing_is_written(team, entered):
    before = counts()

    response = sign(team.pharmacist, entered, password="not my password")

    assert response.status_code == 422
    assert response.json() == invalid_input(
        {"password": ["The password is not correct. Enter your own password to sign."]}
    )
    assert counts() == before
    entered.refresh_from_db()
    assert entered.pharmacist_signature_id is None


def test_signing_incomplete_settings_names_each_missing_one(team):
    # Given settings entered without the mesna dose and the IL-2 weight basis
    values = {
        k: v for k, v in LIFILEUCEL_VALUES.items() if k not in ("mesna_dose", "il2_weight_basis")
    }
    response = enter(team.pharmacist, {**body(), "values": values})
    activation = ProtocolActivation.objects.get(public_id=response.json()["public_id"])
    before = counts()

    # When the pharmacist signs
    refused = sign(team.pharmacist, activation)

    # Then the signature is refused, naming both missing settings
    assert refused.status_code == 422
    [message] = refused.json()["errors"]["__all__"]
    assert message.startswith("These settings must be entered before the version can be signed:")
    assert "(mesna_dose)" in message
    assert "(il2_weight_basis)" in message
    assert "(bsa_formula)" not in message
    assert counts() == before


def test_the_pharmacist_discards_a_version_awaiting_signatures(team, entered):
    response = post_json(
        client_for(team.pharmacist),
        f"{API}/{entered.public_id}/discard",
        {"reason": "Entered against the wrong protocol version."},
    )

    assert response.status_code == 200
    answer = response.json()
    assert (answer["status"], answer["end_reason"]) == (
        "discarded",
        "Entered against the wrong protocol version.",
    )
    assert answer["ended_at"] is not None


def test_discarding_without_a_reason_is_refused(team, entered):
    before = counts()

    response = post_json(client_for(team.pharmacist), f"{API}/{entered.public_id}/discard", {})

    assert response.json() == invalid_input({"reason": ["This field is required."]})
    assert counts() == before


# ---------- refused input ----------


def test_an_unknown_field_in_the_body_is_refused_by_name(team):
    before = counts()

    response = enter(team.pharmacist, body(comment="typo'd field"))

    assert response.status_code == 422
    assert response.json() == invalid_input(
        {"comment": ["Unknown field; check its spelling against the API documentation."]}
    )
    assert counts() == before


def test_an_unknown_setting_is_refused_by_the_service_naming_it(team):
    before = counts()

    response = enter(team.pharmacist, body({"mesna_dose_mg": "60"}))

    assert response.status_code == 422
    assert response.json() == invalid_input(
        {"values.mesna_dose_mg": ["“mesna_dose_mg” is not a center setting of this protocol."]}
    )
    assert counts() == before


@pytest.mark.parametrize("sent", ["60", "0.5", "true"])
def test_a_setting_sent_as_a_json_number_or_true_is_refused(team, sent):
    # Given the mesna dose written in the JSON body as a number or true, not as text
    text = json.dumps(body()).replace('"mesna_dose": "60"', f'"mesna_dose": {sent}')
    assert f'"mesna_dose": {sent}' in text
    before = counts()

    response = client_for(team.pharmacist).post(API, data=text, content_type="application/json")

    assert response.status_code == 422
    assert response.json() == invalid_input({"values.mesna_dose": [SETTING_AS_TEXT]})
    assert counts() == before


def test_a_band_dose_sent_as_a_number_is_refused_naming_the_band(team):
    bands = [RENAL_BANDS[0], {**RENAL_BANDS[1], "dose": 20}]

    response = enter(team.pharmacist, body({"fludarabine_renal_bands": bands}))

    assert response.json() == invalid_input(
        {
            "values.fludarabine_renal_bands": [
                'Band 2: send dose as text, e.g. "15" (not a JSON number or true/false).'
            ]
        }
    )


def test_a_value_out_of_range_is_refused_naming_the_setting_and_its_limit(team):
    before = counts()

    response = enter(team.pharmacist, body({"mesna_dose": "500"}))

    assert response.status_code == 422
    assert response.json() == invalid_input(
        {
            "values.mesna_dose": [
                "Center setting 'Mesna dose given with cyclophosphamide (mg/kg per "
                "cyclophosphamide day)' (mesna_dose): 500 mg/kg is above the allowed maximum "
                "120 mg/kg."
            ]
        }
    )
    assert counts() == before


def test_renal_bands_with_a_gap_are_refused(team):
    before = counts()
    bands = [RENAL_BANDS[0], {**RENAL_BANDS[1], "crcl_from_ml_per_min": "55"}]

    response = enter(team.pharmacist, body({"fludarabine_renal_bands": bands}))

    assert response.status_code == 422
    [message] = response.json()["errors"]["values.fludarabine_renal_bands"]
    assert "bands must follow on without gap or overlap" in message
    assert "the next band must start at 50 mL/min" in message
    assert counts() == before


def test_a_second_version_without_a_reason_is_refused_on_the_reason(team, in_force):
    before = counts()

    response = enter(team.pharmacist, body({"mesna_dose": "50"}))

    assert response.status_code == 422
    assert response.json() == invalid_input(
        {"reason": ["Say what changes from the version in force and why (required)."]}
    )
    assert counts() == before


def test_a_second_version_with_a_reason_awaits_signatures_beside_the_one_in_force(team, in_force):
    response = enter(team.pharmacist, body({"mesna_dose": "50"}, reason="Lower mesna dose."))

    assert response.status_code == 201
    assert (response.json()["number"], response.json()["reason"]) == (2, "Lower mesna dose.")
    in_force.refresh_from_db()
    assert in_force.status == ActivationStatus.ACTIVE


def test_an_unknown_protocol_is_refused(team):
    response = enter(team.pharmacist, {**body(), "protocol_version": "1999"})

    assert response.status_code == 422
    assert list(response.json()["errors"]) == ["protocol"]
