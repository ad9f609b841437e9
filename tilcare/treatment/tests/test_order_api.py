"""The orders API: the pharmacist's queue and one order as stored, the pharmacist's verification,
the physician's cancellation and new order. Refusals are 403 (a role that may not act), 404
(another center's order, a facility's user), 409 (doses that no longer follow the latest inputs),
422 (the field and its limit), and a refused request writes nothing.

Orders are written through the service, as the journey writes them. Time is frozen at noon in
New York on 15 June 2026 (Theodora, born 12 April 1968, is 58).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.journey.tests.factories import CareTeam, make_team, theodora_at
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import TEST_PASSWORD, UserFactory
from tilcare.treatment.choices import VERIFY_MEANING, OrderStatus
from tilcare.treatment.models import Administration, Order, OrderDose, ProtocolActivation
from tilcare.treatment.schemas.orders import CREATININE_AS_TEXT
from tilcare.treatment.services.orders import (
    NOT_PRESCRIBER,
    NOT_VERIFIER,
    Course,
    order_il2,
    order_lymphodepletion,
    verify_order,
)
from tilcare.treatment.tests.factories import (
    LIFILEUCEL_VALUES,
    activate,
    course_for,
    measure,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/treatment/orders"
NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
TODAY = dt.date(2026, 6, 15)
YESTERDAY = dt.date(2026, 6, 14)
COI_DIN = "W123426000042"
NOT_FOUND = {"detail": "Not found."}
NOT_CENTER_STAFF = "Only the center's clinical staff see its treatment orders."
UNKNOWN_FIELD = "Unknown field; check its spelling against the API documentation."
WRONG_PASSWORD = "The password is not correct. Enter your own password to sign."
NEWER_WEIGHT = (
    "A newer height and weight (75.0 kg, 180.0 cm, measured 15 Jun 2026) were recorded after "
    "this order was written from 80.0 kg, 180.0 cm: write it again so the doses follow the new "
    "measurement, and have it verified again."
)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    # The clock runs on from NOW, so rows written one after the other keep their order.
    with time_machine.travel(NOW):
        yield


def counts() -> tuple[int, ...]:
    return row_counts(Order, OrderDose, AuditEvent, Signature)


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    """Theodora, 80 kg and 180 cm measured yesterday."""
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "80", YESTERDAY)
    return patient


@pytest.fixture
def course(theodora: Patient) -> Course:
    return course_for(theodora)


@pytest.fixture
def order(team: CareTeam, in_force: ProtocolActivation, course: Course) -> Order:
    """Lymphodepletion for Theodora, written by the physician: label doses 4800 mg and 50 mg."""
    return order_lymphodepletion(
        course,
        serum_creatinine_mg_per_dl="0.8",
        creatinine_drawn_on=YESTERDAY,
        actor=team.physician,
    )


def lymphodepletion_doses(cyclophosphamide: str, fludarabine: str) -> list[dict[str, Any]]:
    """The dose rows as the API gives them: Days −7 and −6, then −5 to −1."""
    days = [(-7, "cyclophosphamide", cyclophosphamide), (-6, "cyclophosphamide", cyclophosphamide)]
    days += [(day, "fludarabine", fludarabine) for day in (-5, -4, -3, -2, -1)]
    return [
        {
            "sequence": n,
            "day": day,
            "agent": agent,
            "route": "IV",
            "dose": dose,
            "dose_unit": "mg",
            "administration": None,
        }
        for n, (day, agent, dose) in enumerate(days, start=1)
    ]


def utc(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat()


def verify(user: Any, order: Order, password: str = TEST_PASSWORD) -> Any:
    return post_json(
        client_for(user), f"{API}/{order.public_id}/verification", {"password": password}
    )


def cancel(user: Any, order: Order, body: dict[str, Any]) -> Any:
    return post_json(client_for(user), f"{API}/{order.public_id}/cancel", body)


def write_again(user: Any, order: Order, body: dict[str, Any]) -> Any:
    return post_json(client_for(user), f"{API}/{order.public_id}/reorder", body)


# ---------- reading ----------


def test_the_pharmacists_queue_lists_the_order_awaiting_verification(team, order, theodora):
    # When the pharmacist reads the queue
    response = client_for(team.pharmacist).get(API)

    # Then the order is there, with its patient, settings version, writer and doses
    assert response.status_code == 200
    order = Order.objects.get(pk=order.pk)
    assert response.json() == [
        {
            "public_id": str(order.public_id),
            "coi": "W123426000042K",
            "manufacture_attempt": 1,
            "kind": "lymphodepletion",
            "status": "awaiting_verification",
            "needs_new_order": None,
            "patient": {
                "public_id": str(theodora.public_id),
                "given_name": "Theodora",
                "family_name": "Lindqvist",
                "mrn": "MRN004512",
            },
            "activation": {
                "public_id": str(order.activation.public_id),
                "protocol_id": "lifileucel_us",
                "protocol_version": "2024",
                "number": 1,
            },
            "ordered_by": team.physician.printed_name,
            "created_at": utc(order.created_at),
            "doses": lymphodepletion_doses("4800.00", "50.00"),
        }
    ]


def test_a_verified_order_is_back_in_the_queue_once_a_newer_weight_is_recorded(
    team, order, theodora
):
    # Given the order verified: the queue is empty
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    assert client_for(team.pharmacist).get(API).json() == []

    # When 75 kg is recorded today
    measure(theodora, team.nurse, "75", TODAY)

    # Then the order is listed again, saying why it needs a new order
    [listed] = client_for(team.nurse).get(API).json()
    assert (listed["public_id"], listed["status"], listed["needs_new_order"]) == (
        str(order.public_id),
        "verified",
        NEWER_WEIGHT,
    )


def test_one_order_with_its_inputs_calculation_and_no_verification_yet(team, order):
    response = client_for(team.navigator).get(f"{API}/{order.public_id}")

    assert response.status_code == 200
    answer = response.json()
    order = Order.objects.get(pk=order.pk)
    # The inputs and the calculation exactly as stored
    assert answer["inputs"] == order.inputs
    assert answer["inputs"]["weight_kg"] == "80.0"
    assert answer["inputs"]["crcl_ml_per_min"] == "97"
    assert answer["calculation"] == order.calculation
    assert answer["calculation"]["agents"][0]["working"] == (
        "60 mg/kg × 80.0 kg (actual weight) = 4800.0 mg → 4800 mg"
    )
    assert answer["doses"] == lymphodepletion_doses("4800.00", "50.00")
    assert (
        answer["verification"],
        answer["cancelled_at"],
        answer["cancel_reason"],
        answer["needs_new_order"],
    ) == (None, None, "", None)


def test_an_unknown_or_malformed_id_is_404(team, order):
    for public_id in (uuid.uuid4(), "not-a-uuid", order.activation.public_id):
        response = client_for(team.pharmacist).get(f"{API}/{public_id}")
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


# ---------- verification ----------


def test_the_pharmacist_verifies_the_order_with_her_password(team, order):
    events = AuditEvent.objects.count()

    response = verify(team.pharmacist, order)

    # Then the answer carries the signature, the new status and the order as verified
    assert response.status_code == 201
    answer = response.json()
    order.refresh_from_db()
    signature = order.verification_signature
    assert signature is not None
    assert answer["signature"] == {
        "printed_name": team.pharmacist.printed_name,
        "meaning": VERIFY_MEANING,
        "signed_at": utc(signature.signed_at),
        "valid": True,
    }
    assert answer["status"] == "verified"
    assert answer["order"]["verification"] == answer["signature"]
    assert answer["order"]["status"] == "verified"
    assert (order.status, signature.signer) == (OrderStatus.VERIFIED, team.pharmacist)
    # the signature, the verification and the course's baseline for monitoring
    assert AuditEvent.objects.count() == events + 3
    # And the detail shows the verification
    detail = client_for(team.nurse).get(f"{API}/{order.public_id}").json()
    assert detail["verification"] == answer["signature"]


@pytest.mark.parametrize("role", [Role.NURSE, Role.PHYSICIAN])
def test_a_nurse_or_the_physician_may_not_verify(team, order, role):
    # (the physician wrote it: the two-person check)
    before = counts()

    response = verify(team.by_role(role), order)

    assert (response.status_code, response.json()) == (403, {"detail": NOT_VERIFIER})
    assert counts() == before


def test_a_wrong_password_verifies_nothing(team, order):
    before = counts()

    response = verify(team.pharmacist, order, password="not my password")

    assert response.status_code == 422
    assert response.json() == invalid_input({"password": [WRONG_PASSWORD]})
    assert counts() == before
    order.refresh_from_db()
    assert (order.status, order.verification_signature) == (OrderStatus.AWAITING_VERIFICATION, None)


def test_an_order_from_a_weight_no_longer_the_latest_is_not_verified(team, order, theodora):
    # Given 75 kg recorded after the order was written from 80 kg
    measure(theodora, team.nurse, "75", TODAY)
    before = counts()

    response = verify(team.pharmacist, order)

    # Then it is refused with 409, saying why, and nothing is written
    assert response.status_code == 409
    assert response.json() == {"detail": NEWER_WEIGHT, "errors": {"__all__": [NEWER_WEIGHT]}}
    assert counts() == before


def test_an_unknown_field_in_the_verification_is_refused_by_name(team, order):
    before = counts()

    response = post_json(
        client_for(team.pharmacist),
        f"{API}/{order.public_id}/verification",
        {"password": TEST_PASSWORD, "meaning": "Checked"},
    )

    assert response.status_code == 422
    assert response.json() == invalid_input({"meaning": [UNKNOWN_FIELD]})
    assert counts() == before


# ---------- who may see and act ----------


@pytest.mark.parametrize("role", ["manufacturing_tech", "qa_reviewer"])
def test_a_facility_user_gets_403_for_the_queue_and_404_for_an_order(team, order, role):
    user = getattr(team, role)
    before = counts()

    listed = client_for(user).get(API)
    answers = [
        client_for(user).get(f"{API}/{order.public_id}"),
        verify(user, order),
        cancel(user, order, {"reason": "Not ours."}),
        write_again(user, order, {"reason": "Not ours."}),
    ]

    assert (listed.status_code, listed.json()) == (403, {"detail": NOT_CENTER_STAFF})
    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 4
    assert counts() == before


def test_a_patient_is_refused_at_the_api(team, order):
    patient_user = UserFactory(role=Role.PATIENT, organization=team.center)
    before = counts()

    responses = [
        client_for(patient_user).get(API),
        client_for(patient_user).get(f"{API}/{order.public_id}"),
        verify(patient_user, order),
        cancel(patient_user, order, {"reason": "x"}),
        write_again(patient_user, order, {"reason": "x"}),
    ]

    assert [r.status_code for r in responses] == [403] * 5
    assert counts() == before


def test_another_centers_staff_get_404_and_an_empty_queue(team, order):
    other = make_team()
    before = counts()

    answers = [
        client_for(other.pharmacist).get(f"{API}/{order.public_id}"),
        verify(other.pharmacist, order),
        cancel(other.physician, order, {"reason": "Not ours."}),
        write_again(other.physician, order, {"reason": "Not ours."}),
    ]

    assert [(r.status_code, r.json()) for r in answers] == [(404, NOT_FOUND)] * 4
    assert client_for(other.pharmacist).get(API).json() == []
    assert counts() == before


# ---------- cancelling ----------


def test_the_physician_cancels_the_order_with_a_reason(team, order):
    response = cancel(team.physician, order, {"reason": "Treatment postponed."})

    assert response.status_code == 200
    answer = response.json()
    order.refresh_from_db()
    assert (answer["status"], answer["cancel_reason"], answer["cancelled_at"]) == (
        "cancelled",
        "Treatment postponed.",
        utc(order.cancelled_at),
    )
    assert order.status == OrderStatus.CANCELLED
    # A cancelled order leaves the queue
    assert client_for(team.pharmacist).get(API).json() == []


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"reason": ["This field is required."]}),
        ({"reason": "  "}, {"reason": ["Say why the order is cancelled (required)."]}),
        ({"reason": "x" * 501}, {"reason": ["String should have at most 500 characters."]}),
        ({"reason": "Postponed.", "note": "x"}, {"note": [UNKNOWN_FIELD]}),
    ],
)
def test_cancelling_without_a_reason_is_refused(team, order, body, errors):
    before = counts()

    response = cancel(team.physician, order, body)

    assert (response.status_code, response.json()) == (422, invalid_input(errors))
    assert counts() == before
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_VERIFICATION


def test_the_pharmacist_may_not_cancel(team, order):
    before = counts()

    response = cancel(team.pharmacist, order, {"reason": "Dose looks high."})

    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Only a treating physician of this center cancels an open order."},
    )
    assert counts() == before


# ---------- writing again ----------


def test_writing_again_after_a_newer_weight_recomputes_the_doses(team, order, theodora):
    # Given the order verified from 80 kg, then 75 kg recorded today
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    measure(theodora, team.nurse, "75", TODAY)

    # When the physician writes it again
    response = write_again(team.physician, order, {"reason": "Weight 75 kg today."})

    # Then the new order follows 75 kg: 60 × 75 = 4500 mg; Mosteller √(180 × 75 / 3600) =
    # 1.94 m² × 25 = 48.5 → 49 mg (CrCl (140 − 58) × 75 / 57.6 × 0.85 = 90.8 → 91, above the
    # bands); the creatinine is the old order's
    assert response.status_code == 201
    new = response.json()
    assert new["public_id"] != str(order.public_id)
    assert (new["status"], new["needs_new_order"], new["verification"]) == (
        "awaiting_verification",
        None,
        None,
    )
    assert new["doses"] == lymphodepletion_doses("4500.00", "49.00")
    assert (
        new["inputs"]["weight_kg"],
        new["inputs"]["bsa_m2_used"],
        new["inputs"]["crcl_ml_per_min"],
        new["inputs"]["serum_creatinine_mg_per_dl"],
    ) == ("75.0", "1.94", "91", "0.80")
    # and the old one is cancelled with the reason
    old = client_for(team.pharmacist).get(f"{API}/{order.public_id}").json()
    assert (old["status"], old["cancel_reason"]) == ("cancelled", "Replaced: Weight 75 kg today.")
    # and the pharmacist's queue holds the new order only
    assert [o["public_id"] for o in client_for(team.pharmacist).get(API).json()] == [
        new["public_id"]
    ]


def test_writing_again_with_a_new_creatinine_recomputes_fludarabine(team, order):
    # SCr 1.0: CrCl (140 − 58) × 80 / 72 × 0.85 = 77.4 → 77, band 50–79: 20 × 2.00 = 40 mg
    response = write_again(
        team.physician,
        order,
        {
            "reason": "Creatinine 1.0 today.",
            "serum_creatinine_mg_per_dl": "1.0",
            "creatinine_drawn_on": "2026-06-15",
        },
    )

    assert response.status_code == 201
    assert response.json()["doses"] == lymphodepletion_doses("4800.00", "40.00")
    assert response.json()["inputs"]["creatinine_drawn_on"] == "2026-06-15"


@pytest.mark.parametrize("sent", ["true", "0.8", "1"])
def test_a_creatinine_sent_as_true_or_a_number_is_refused(team, order, sent):
    text = json.dumps(
        {
            "reason": "New SCr.",
            "serum_creatinine_mg_per_dl": "X",
            "creatinine_drawn_on": "2026-06-15",
        }
    ).replace('"X"', sent)
    before = counts()

    response = client_for(team.physician).post(
        f"{API}/{order.public_id}/reorder", data=text, content_type="application/json"
    )

    assert (response.status_code, response.json()) == (
        422,
        invalid_input({"serum_creatinine_mg_per_dl": [CREATININE_AS_TEXT]}),
    )
    assert counts() == before


def test_a_creatinine_out_of_range_is_refused_naming_the_field_and_limit(team, order):
    before = counts()

    response = write_again(
        team.physician,
        order,
        {
            "reason": "New SCr.",
            "serum_creatinine_mg_per_dl": "88",
            "creatinine_drawn_on": "2026-06-15",
        },
    )

    assert response.json() == invalid_input(
        {"serum_creatinine_mg_per_dl": ["Serum creatinine must be between 0.2 and 20 mg/dL."]}
    )
    assert counts() == before
    assert Order.objects.get(pk=order.pk).status == OrderStatus.AWAITING_VERIFICATION


def test_an_il2_order_written_again_takes_no_creatinine(team, in_force, course):
    il2 = order_il2(course, actor=team.physician)
    before = counts()

    refused = write_again(
        team.physician, il2, {"reason": "New weight.", "serum_creatinine_mg_per_dl": "0.8"}
    )
    by_nurse = write_again(team.nurse, il2, {"reason": "x", "serum_creatinine_mg_per_dl": "0.8"})

    assert refused.json() == invalid_input(
        {
            "serum_creatinine_mg_per_dl": [
                "An IL-2 order is not computed from a creatinine: leave the creatinine and its "
                "date out."
            ]
        }
    )
    assert (by_nurse.status_code, by_nurse.json()) == (403, {"detail": NOT_PRESCRIBER})
    assert counts() == before
    # Without one, it is written again: 600,000 IU/kg × 80 kg, up to 6 doses
    response = write_again(team.physician, il2, {"reason": "Checked weight."})
    assert response.status_code == 201
    assert [
        (d["sequence"], d["day"], d["dose"], d["dose_unit"]) for d in response.json()["doses"]
    ] == [(n, None, "48000000.00", "IU") for n in range(1, 7)]


def test_the_pharmacist_may_not_write_an_order_again(team, order):
    before = counts()

    response = write_again(team.pharmacist, order, {"reason": "Weight changed."})

    assert (response.status_code, response.json()) == (403, {"detail": NOT_PRESCRIBER})
    assert counts() == before


def test_an_order_computed_on_replaced_settings_is_not_verified(team, order):
    # Given version 2 of the center's settings signed since: the order's version 1 is superseded
    activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        values={**LIFILEUCEL_VALUES, "mesna_dose": "50"},
        reason="Lower mesna dose.",
    )
    before = counts()

    # When the pharmacist verifies the order, it is refused with 409, saying why
    response = verify(team.pharmacist, order)

    assert response.status_code == 409
    [message] = response.json()["errors"]["__all__"]
    assert message.startswith(
        "This order was computed on the center's settings version 1, which has been replaced "
        "(version 2 is in force)"
    )
    assert counts() == before


# ---------- each dose given, held or not given ----------

NOT_VERIFIED = (
    "This order awaits the pharmacist's verification: no dose is recorded from it before."
)


def record(user: Any, order: Order, sequence: int, body: dict[str, Any]) -> Any:
    path = f"{API}/{order.public_id}/doses/{sequence}/administration"
    return post_json(client_for(user), path, body)


@pytest.fixture
def verified(team: CareTeam, order: Order) -> Order:
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    return order


def test_the_nurse_records_a_dose_given_and_the_order_shows_it(team, verified):
    given_at = NOW + dt.timedelta(minutes=30)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        response = record(team.nurse, verified, 1, {"outcome": "given", "at": utc(given_at)})

    assert response.status_code == 201
    first, second = response.json()["doses"][:2]
    assert first["administration"] == {
        "outcome": "given",
        "at": "2026-06-15T16:30:00Z",
        "reason": "",
        "recorded_by": team.nurse.printed_name,
    }
    assert second["administration"] is None


def test_a_held_dose_without_a_reason_is_refused_by_name(team, verified):
    before = row_counts(Administration)
    with time_machine.travel(NOW + dt.timedelta(hours=1), tick=False):
        response = record(
            team.nurse, verified, 1, {"outcome": "held", "at": utc(NOW + dt.timedelta(minutes=30))}
        )
    assert (response.status_code, response.json()) == (
        422,
        invalid_input({"reason": ["Say why the dose was not given."]}),
    )
    assert row_counts(Administration) == before


def test_no_dose_is_recorded_from_an_order_awaiting_verification(team, order):
    before = row_counts(Administration)
    response = record(team.nurse, order, 1, {"outcome": "given", "at": utc(NOW)})
    assert (response.status_code, response.json()) == (
        409,
        {"detail": NOT_VERIFIED, "errors": {"__all__": [NOT_VERIFIED]}},
    )
    assert row_counts(Administration) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"outcome": "given", "at": "2026-06-15T16:00:00Z", "dose": "1"}, "dose"),
        ({"outcome": True, "at": "2026-06-15T16:00:00Z"}, "outcome"),
        ({"outcome": "skipped", "at": "2026-06-15T16:00:00Z"}, "outcome"),
        ({"outcome": "given", "at": "2026-06-15T16:00:00"}, "at"),
        ({"outcome": "given"}, "at"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(team, verified, body, field):
    before = row_counts(Administration)
    response = record(team.nurse, verified, 1, body)
    assert response.status_code == 422
    assert list(response.json()["errors"]) == [field]
    assert row_counts(Administration) == before


@pytest.mark.parametrize("role", ["pharmacist", "navigator", "surgeon"])
def test_a_role_that_does_not_give_doses_is_refused(team, verified, role):
    response = record(team.by_role(role), verified, 1, {"outcome": "given", "at": utc(NOW)})
    assert response.status_code == 403
    assert row_counts(Administration) == (0,)


def test_an_unknown_dose_or_another_centers_order_is_404(team, verified):
    assert record(team.nurse, verified, 99, {"outcome": "given", "at": utc(NOW)}).status_code == 404
    other = make_team()
    response = record(other.nurse, verified, 1, {"outcome": "given", "at": utc(NOW)})
    assert response.status_code == 404
    assert row_counts(Administration) == (0,)
