"""The order pages: the pharmacist's queue, one order (doses, inputs, settings, working), and its
forms (verify, cancel, write again, record a dose), each refused with nothing written when the
role, the center or the input is wrong.

Riverside is in New York. The clock stands at noon there on 15 June 2026 unless a test moves it;
Theodora (born 12 April 1968, so 58) was measured 80 kg and 180 cm the day before.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.tests.clients import client_for, row_counts
from tilcare.journey.tests.factories import CareTeam, make_team, theodora_at
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import TEST_PASSWORD, PatientFactory, UserFactory
from tilcare.treatment.choices import AdministrationOutcome, OrderStatus
from tilcare.treatment.models import Administration, Order, OrderDose, ProtocolActivation
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.orders import (
    order_il2,
    order_lymphodepletion,
    verify_order,
)
from tilcare.treatment.tests.factories import LIFILEUCEL, activate, course_for, measure

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
YESTERDAY = dt.date(2026, 6, 14)
QUEUE = reverse("treatment:orders")
WRITTEN = (Order, OrderDose, Signature, AuditEvent, Administration)
NEWER_WEIGHT = (
    "A newer height and weight (85.0 kg, 180.0 cm, measured 15 Jun 2026) were recorded after this "
    "order was written from 80.0 kg, 180.0 cm: write it again so the doses follow the new "
    "measurement, and have it verified again."
)


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW)


def text_of(response: Any) -> str:
    """The page's text with tags dropped and spaces squeezed, as a reader sees it."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def lymphodepletion(patient: Patient, team: CareTeam, **course: str) -> Order:
    return order_lymphodepletion(
        course_for(patient, **course),
        serum_creatinine_mg_per_dl="0.8",
        creatinine_drawn_on=YESTERDAY,
        actor=team.physician,
    )


def page_of(order: Order) -> str:
    return reverse("treatment:order", kwargs={"public_id": order.public_id})


def action(order: Order, name: str) -> str:
    return reverse(f"treatment:order_{name}", kwargs={"public_id": order.public_id})


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "80", YESTERDAY)
    return patient


@pytest.fixture
def written(team: CareTeam, in_force: ProtocolActivation, theodora: Patient) -> Order:
    """Theodora's lymphodepletion order, written by the physician at noon, awaiting verification."""
    return lymphodepletion(theodora, team)


@pytest.fixture
def verified(team: CareTeam, written: Order, time_machine: Any) -> Order:
    """The same order verified by the pharmacist ten minutes later; the clock then stands at
    3 p.m. in New York."""
    time_machine.move_to(NOW + dt.timedelta(minutes=10))
    verify_order(written, actor=team.pharmacist, password=TEST_PASSWORD)
    time_machine.move_to(NOW + dt.timedelta(hours=3))
    return Order.objects.get(pk=written.pk)


# ---------- The queue ----------


def test_the_queue_lists_orders_to_verify_oldest_first_then_those_to_write_again(
    team: CareTeam, in_force: ProtocolActivation, theodora: Patient, time_machine: Any
) -> None:
    # Given Ada's order written at 9:00, Theodora's at 10:00, and Bruno's verified order whose
    # patient was weighed again since (New York time)
    ada: Patient = PatientFactory(
        center=team.center, given_name="Ada", family_name="Okafor", mrn="MRN1"
    )
    bruno: Patient = PatientFactory(
        center=team.center, given_name="Bruno", family_name="Viel", mrn="MRN2"
    )
    for patient in (ada, bruno):
        measure(patient, team.nurse, "80", YESTERDAY)
    time_machine.move_to(NOW - dt.timedelta(hours=4))
    stale = lymphodepletion(bruno, team, din="W123426000050", check="3")
    verify_order(stale, actor=team.pharmacist, password=TEST_PASSWORD)
    time_machine.move_to(NOW - dt.timedelta(hours=3))
    lymphodepletion(ada, team, din="W123426000043", check="8")
    time_machine.move_to(NOW - dt.timedelta(hours=2))
    lymphodepletion(theodora, team)
    time_machine.move_to(NOW)
    measure(bruno, team.nurse, "85", NOW.date())

    response = client_for(team.pharmacist).get(QUEUE)

    # Then the two awaiting verification come first, oldest first, then Bruno's
    text = text_of(response)
    assert response.status_code == 200
    assert text.index("Okafor, Ada") < text.index("Lindqvist, Theodora") < text.index("Viel")
    assert [row["order"].patient.given_name for row in response.context["rows"]] == [
        "Ada",
        "Theodora",
        "Bruno",
    ]
    # each row with identity, COI, kind, protocol and settings version, who and when
    assert (
        "Lindqvist, Theodora MRN MRN004512 Awaiting verification Lymphodepletion "
        f"{team.physician.printed_name} 15 Jun 2026, 10:00 EDT W1234 26 000042 K "
        "Lifileucel (Amtagvi), US label regimen 2024 center settings version 1"
    ) in text
    assert (
        "Newer weight: write again The treating physician writes it again; a pharmacist then "
        "verifies the new order."
    ) in text
    assert text.count("Awaiting verification") == 2


def test_a_verified_order_still_current_leaves_the_queue_empty(
    team: CareTeam, verified: Order
) -> None:
    response = client_for(team.pharmacist).get(QUEUE)

    assert response.context["rows"] == []
    assert "No order awaits verification, and no verified order needs writing again." in text_of(
        response
    )


@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        (dt.datetime(2026, 6, 15, 23, 30, tzinfo=dt.UTC), "15 Jun 2026, 19:30 EDT"),
        (dt.datetime(2026, 6, 16, 5, 30, tzinfo=dt.UTC), "16 Jun 2026, 01:30 EDT"),
    ],
)
def test_times_are_shown_in_the_centers_time_zone(
    team: CareTeam,
    in_force: ProtocolActivation,
    theodora: Patient,
    time_machine: Any,
    utc: dt.datetime,
    shown: str,
) -> None:
    time_machine.move_to(utc, tick=False)
    order = lymphodepletion(theodora, team)

    queue = text_of(client_for(team.pharmacist).get(QUEUE))
    page = text_of(client_for(team.pharmacist).get(page_of(order)))

    assert shown in queue
    assert f"Ordered by {team.physician.printed_name} on {shown}." in page
    assert utc.strftime("%H:%M") not in queue + page


# ---------- One order ----------


def test_the_physician_reads_the_doses_inputs_settings_and_working(
    team: CareTeam, written: Order, in_force: ProtocolActivation
) -> None:
    response = client_for(team.physician).get(page_of(written))

    text = text_of(response)
    assert response.status_code == 200
    assert "Lindqvist, Theodora" in text and "MRN004512" in text and "W1234 26 000042 K" in text
    assert (
        "Lymphodepletion (cyclophosphamide with mesna, fludarabine) Awaiting verification" in text
    )
    # The doses first, day by day
    assert [(row["label"], row["agent"], row["amount"]) for row in response.context["doses"]] == [
        ("Day −7", "cyclophosphamide", "4,800 mg"),
        ("Day −6", "cyclophosphamide", "4,800 mg"),
        ("Day −5", "fludarabine", "50 mg"),
        ("Day −4", "fludarabine", "50 mg"),
        ("Day −3", "fludarabine", "50 mg"),
        ("Day −2", "fludarabine", "50 mg"),
        ("Day −1", "fludarabine", "50 mg"),
    ]
    assert "Day −7 Cyclophosphamide IV 4,800 mg Not recorded yet" in text
    assert text.index("Doses") < text.index("Computed from") < text.index("How these doses")
    # then the inputs with their dates, and the settings version with its signers
    for shown in (
        "Weight 80.0 kg measured 14 Jun 2026",
        "Height 180.0 cm measured 14 Jun 2026",
        "Body-surface area used 2.00 m² calculated",
        "Serum creatinine 0.8 mg/dL drawn 14 Jun 2026",
        "Creatinine clearance 97 mL/min Cockcroft–Gault",
        "Age 58 years on 15 Jun 2026",
        "Sex Female",
        f"Center settings version 1, signed by {team.pharmacist.printed_name} (pharmacist) and "
        f"{team.physician.printed_name} (treating physician)",
    ):
        assert shown in text
    settings = reverse(
        "treatment:protocol", kwargs={"protocol_id": LIFILEUCEL[0], "version": LIFILEUCEL[1]}
    )
    assert f'href="{settings}?version=1#version-1"' in response.content.decode()
    # and the working, agent by agent
    assert "Cyclophosphamide: 4,800 mg per day" in text
    assert "Working 60 mg/kg × 80.0 kg (actual weight) = 4800.0 mg → 4800 mg" in text
    assert "Fludarabine: 50 mg per day" in text
    assert "BSA (m²) = √(height_cm × weight_kg / 3600) = 2.00 m²" in text
    assert "CrCl 97 mL/min is above every band: protocol dose 25 mg/m²" in text
    assert "Rounding round_dose_to_increment: nearest 10 mg, half up" in text
    assert "Mesna with each cyclophosphamide dose: 60 mg/kg as set by the center" in text
    # The physician who wrote it may cancel it or write it again, not verify it
    assert "verify_form" not in response.context
    assert {"cancel_form", "reorder_form"} <= set(response.context.keys())
    assert "record_forms" not in response.context


def test_an_il2_order_counts_its_doses_and_shows_them_in_miu(
    team: CareTeam, in_force: ProtocolActivation, theodora: Patient
) -> None:
    order = order_il2(course_for(theodora), actor=team.physician)

    response = client_for(team.nurse).get(page_of(order))

    rows = [(row["label"], row["amount"], row["miu"]) for row in response.context["doses"]]
    assert rows == [(f"Dose {n}", "48,000,000 IU", "48 MIU") for n in range(1, 7)]
    text = text_of(response)
    assert "Dose 1 Aldesleukin IV 48,000,000 IU = 48 MIU" in text
    assert "Aldesleukin (IL-2): 48,000,000 IU (48 MIU) per dose" in text
    assert "Up to 6 doses, as the protocol allows." in text


def test_the_pharmacist_is_offered_the_verification_and_the_nurse_nothing(
    team: CareTeam, written: Order
) -> None:
    pharmacist = client_for(team.pharmacist).get(page_of(written))
    nurse = client_for(team.nurse).get(page_of(written))

    assert "verify_form" in pharmacist.context
    assert "cancel_form" not in pharmacist.context and "reorder_form" not in pharmacist.context
    assert nurse.status_code == 200
    offered = {"verify_form", "cancel_form", "reorder_form", "record_forms"}
    assert offered.isdisjoint(nurse.context.keys())


# ---------- Verify ----------


def test_a_wrong_or_missing_password_is_refused_on_its_field(
    team: CareTeam, written: Order
) -> None:
    client = client_for(team.pharmacist)
    before = row_counts(*WRITTEN)

    wrong = client.post(action(written, "verify"), {"verify-password": "not-it"})
    blank = client.post(action(written, "verify"), {"verify-password": ""})

    assert (wrong.status_code, blank.status_code) == (200, 200)
    assert wrong.context["verify_form"].errors == {
        "password": ["The password is not correct. Enter your own password to sign."]
    }
    assert blank.context["verify_form"].errors == {"password": ["Enter your own password to sign."]}
    assert row_counts(*WRITTEN) == before
    assert Order.objects.get(pk=written.pk).status == OrderStatus.AWAITING_VERIFICATION


def test_the_pharmacist_verifies_the_order(team: CareTeam, written: Order) -> None:
    client = client_for(team.pharmacist)

    response = client.post(action(written, "verify"), {"verify-password": TEST_PASSWORD})

    assert response.status_code == 302 and response["Location"] == page_of(written)
    order = Order.objects.get(pk=written.pk)
    assert order.status == OrderStatus.VERIFIED
    assert order.verification_signature is not None
    assert order.verification_signature.signer == team.pharmacist
    page = text_of(client.get(page_of(written)))
    assert "Verified: the doses may be given from this order." in page
    assert f"Verified by {team.pharmacist.printed_name} on 15 Jun 2026, 12:00 EDT" in page
    assert client.get(QUEUE).context["rows"] == []


@pytest.mark.parametrize("role", ["nurse", "physician"])
def test_a_nurse_or_the_prescriber_cannot_verify(team: CareTeam, written: Order, role: str) -> None:
    before = row_counts(*WRITTEN)

    response = client_for(team.by_role(role)).post(
        action(written, "verify"), {"verify-password": TEST_PASSWORD}
    )

    assert response.status_code == 403
    assert row_counts(*WRITTEN) == before


# ---------- Cancel ----------


def test_the_physician_cancels_with_a_reason(team: CareTeam, written: Order) -> None:
    client = client_for(team.physician)
    before = row_counts(*WRITTEN)

    blank = client.post(action(written, "cancel"), {"cancel-reason": "  "})
    assert blank.status_code == 200
    assert blank.context["cancel_form"].errors == {
        "reason": ["Say why the order is cancelled (required)."]
    }
    assert row_counts(*WRITTEN) == before

    done = client.post(action(written, "cancel"), {"cancel-reason": "Admission postponed"})

    assert done.status_code == 302
    order = Order.objects.get(pk=written.pk)
    assert (order.status, order.cancel_reason) == (OrderStatus.CANCELLED, "Admission postponed")
    page = text_of(client.get(page_of(written)))
    assert "Cancelled on 15 Jun 2026, 12:00 EDT: Admission postponed" in page
    assert "Cancelled" in page and "cancel_form" not in client.get(page_of(written)).context


@pytest.mark.parametrize("role", ["pharmacist", "nurse"])
def test_only_a_physician_cancels(team: CareTeam, written: Order, role: str) -> None:
    before = row_counts(*WRITTEN)

    response = client_for(team.by_role(role)).post(
        action(written, "cancel"), {"cancel-reason": "Wrong patient"}
    )

    assert response.status_code == 403
    assert row_counts(*WRITTEN) == before


# ---------- Write again after a newer weight ----------


def test_a_newer_weight_shows_the_banner_and_the_order_is_written_again(
    team: CareTeam, verified: Order, theodora: Patient
) -> None:
    # Given Theodora weighed 85 kg today, after the order was verified
    measure(theodora, team.nurse, "85", NOW.date())
    physician = client_for(team.physician)

    # Then the order's page and the queue say the physician writes it again
    page = physician.get(page_of(verified))
    assert NEWER_WEIGHT in text_of(page)
    assert "Newer weight: write again" in text_of(page)
    queue = client_for(team.pharmacist).get(QUEUE)
    assert [row["order"] for row in queue.context["rows"]] == [verified]
    assert "The treating physician writes it again" in text_of(queue)

    # When the physician writes it again without a reason, nothing is written
    before = row_counts(*WRITTEN)
    blank = physician.post(action(verified, "reorder"), {"reorder-reason": ""})
    assert blank.context["reorder_form"].errors == {
        "reason": ["Say why the order is written again (required)."]
    }
    # nor with a creatinine out of range
    high = physician.post(
        action(verified, "reorder"),
        {
            "reorder-reason": "New weight",
            "reorder-serum_creatinine_mg_per_dl": "99",
            "reorder-creatinine_drawn_on": "2026-06-15",
        },
    )
    assert list(high.context["reorder_form"].errors) == ["serum_creatinine_mg_per_dl"]
    assert row_counts(*WRITTEN) == before

    # When they write it again with the reason
    response = physician.post(action(verified, "reorder"), {"reorder-reason": "Weighed 85 kg"})

    # Then the new order, from 85 kg, awaits verification and the old one is cancelled
    new = Order.objects.exclude(pk=verified.pk).get()
    assert response.status_code == 302 and response["Location"] == page_of(new)
    assert (new.status, new.inputs["weight_kg"]) == (OrderStatus.AWAITING_VERIFICATION, "85.0")
    assert new.doses.get(sequence=1).dose == Decimal("5100.00")
    old = Order.objects.get(pk=verified.pk)
    assert (old.status, old.cancel_reason) == (OrderStatus.CANCELLED, "Replaced: Weighed 85 kg")
    new_page = text_of(physician.get(page_of(new)))
    assert "this new order awaits a pharmacist&#x27;s verification" in new_page
    assert "Day −7 Cyclophosphamide IV 5,100 mg" in new_page
    assert [row["order"] for row in client_for(team.pharmacist).get(QUEUE).context["rows"]] == [new]


# ---------- Record a dose ----------


def dose_post(sequence: int, outcome: str, at: str, reason: str = "") -> dict[str, str]:
    prefix = f"dose{sequence}"
    return {
        "sequence": str(sequence),
        f"{prefix}-outcome": outcome,
        f"{prefix}-at": at,
        f"{prefix}-reason": reason,
    }


def test_the_nurse_records_the_next_dose_day_by_day(team: CareTeam, verified: Order) -> None:
    client = client_for(team.nurse)

    page = client.get(page_of(verified))
    assert [item["dose"].sequence for item in page.context["record_forms"]] == [1]

    # 1 p.m. in New York, after the verification at 12:10
    response = client.post(
        action(verified, "record_dose"), dose_post(1, "given", "2026-06-15T13:00")
    )

    assert response.status_code == 302
    done = Administration.objects.get()
    assert (done.dose.sequence, done.outcome, done.at, done.recorded_by) == (
        1,
        AdministrationOutcome.GIVEN,
        dt.datetime(2026, 6, 15, 17, 0, tzinfo=dt.UTC),
        team.nurse,
    )
    after = client.get(page_of(verified))
    text = text_of(after)
    assert (
        f"Day −7 Cyclophosphamide IV 4,800 mg Given 15 Jun 2026, 13:00 EDT · "
        f"{team.nurse.printed_name}"
    ) in text
    assert [item["dose"].sequence for item in after.context["record_forms"]] == [2]


def test_a_held_dose_shows_its_reason(team: CareTeam, verified: Order) -> None:
    for sequence in (1, 2):  # the cyclophosphamide days first: doses are recorded day by day
        record_administration(
            verified.doses.get(sequence=sequence),
            outcome=AdministrationOutcome.GIVEN,
            at=NOW + dt.timedelta(minutes=30),
            actor=team.nurse,
        )
    record_administration(
        verified.doses.get(sequence=3),
        outcome=AdministrationOutcome.HELD,
        at=NOW + dt.timedelta(hours=1),
        reason="Creatinine rising",
        actor=team.physician,
    )

    text = text_of(client_for(team.nurse).get(page_of(verified)))

    assert (
        f"Day −5 Fludarabine IV 50 mg Held 15 Jun 2026, 13:00 EDT · {team.physician.printed_name} "
        "Reason: Creatinine rising"
    ) in text


def test_a_dose_refused_by_the_service_is_shown_and_nothing_written(
    team: CareTeam, verified: Order
) -> None:
    client = client_for(team.nurse)
    before = row_counts(*WRITTEN)

    no_reason = client.post(
        action(verified, "record_dose"), dose_post(1, "held", "2026-06-15T13:00")
    )
    early = client.post(action(verified, "record_dose"), dose_post(1, "given", "2026-06-15T11:00"))
    out_of_turn = client.post(
        action(verified, "record_dose"), dose_post(2, "given", "2026-06-15T13:00")
    )

    assert no_reason.status_code == 200
    form = next(i["form"] for i in no_reason.context["record_forms"] if i["dose"].sequence == 1)
    assert form.errors == {"reason": ["Say why the dose was not given."]}
    early_form = early.context["record_forms"][0]["form"]
    assert list(early_form.errors) == ["at"]
    assert "the order was verified" in early_form.errors["at"][0]
    assert "Record cyclophosphamide on Day −7 first" in text_of(out_of_turn)
    assert row_counts(*WRITTEN) == before


@pytest.mark.parametrize("role", ["pharmacist", "navigator"])
def test_only_a_nurse_or_physician_records_a_dose(
    team: CareTeam, verified: Order, role: str
) -> None:
    before = row_counts(*WRITTEN)

    response = client_for(team.by_role(role)).post(
        action(verified, "record_dose"), dose_post(1, "given", "2026-06-15T13:00")
    )

    assert response.status_code == 403
    assert row_counts(*WRITTEN) == before


def test_no_dose_is_recorded_before_the_order_is_verified(team: CareTeam, written: Order) -> None:
    before = row_counts(*WRITTEN)

    response = client_for(team.nurse).post(
        action(written, "record_dose"), dose_post(1, "given", "2026-06-15T11:30")
    )

    # The nurse may record doses, but not from this order: she is told why, nothing is written
    assert response.status_code == 200
    assert (
        "This order awaits the pharmacist&#x27;s verification: no dose is recorded from it "
        "before." in response.content.decode()
    )
    assert row_counts(*WRITTEN) == before


# ---------- Who is refused ----------


def patient_user(team: CareTeam) -> Any:
    return UserFactory(role=Role.PATIENT, organization=team.center)


@pytest.mark.parametrize("who", ["manufacturing_tech", "qa_reviewer", "patient"])
def test_facility_staff_and_patients_are_refused(team: CareTeam, written: Order, who: str) -> None:
    user = patient_user(team) if who == "patient" else team.by_role(who)
    client = client_for(user)
    before = row_counts(*WRITTEN)

    answers = [
        client.get(QUEUE),
        client.get(page_of(written)),
        client.post(action(written, "verify"), {"verify-password": TEST_PASSWORD}),
        client.post(action(written, "cancel"), {"cancel-reason": "x"}),
        client.post(action(written, "reorder"), {"reorder-reason": "x"}),
    ]

    assert [answer.status_code for answer in answers] == [403] * 5
    assert all("Lindqvist" not in answer.content.decode() for answer in answers)
    assert row_counts(*WRITTEN) == before


def test_another_centers_staff_neither_see_nor_touch_the_order(
    team: CareTeam, written: Order
) -> None:
    other = make_team()
    activate(other.center, pharmacist=other.pharmacist, physician=other.physician)
    before = row_counts(*WRITTEN)

    queue = client_for(other.pharmacist).get(QUEUE)
    page = client_for(other.physician).get(page_of(written))
    verify = client_for(other.pharmacist).post(
        action(written, "verify"), {"verify-password": TEST_PASSWORD}
    )
    cancel = client_for(other.physician).post(action(written, "cancel"), {"cancel-reason": "x"})

    assert queue.context["rows"] == [] and "Lindqvist" not in queue.content.decode()
    assert (page.status_code, verify.status_code, cancel.status_code) == (404, 404, 404)
    assert row_counts(*WRITTEN) == before


def test_the_orders_entry_is_in_the_menu_of_those_who_order_verify_and_give(
    team: CareTeam,
) -> None:
    def menu(client: Client) -> list[str]:
        return [item.label for item in client.get(QUEUE).context["nav_items"]]

    assert "Orders" in menu(client_for(team.pharmacist))
    assert "Orders" in menu(client_for(team.nurse))
    assert "Orders" not in menu(client_for(team.financial_coordinator))


def test_no_dose_is_given_from_an_order_out_of_date_but_one_may_be_recorded_not_given(
    team: CareTeam, verified: Order, theodora: Patient
) -> None:
    # Given a newer weight after the verification
    measure(theodora, team.nurse, "85", NOW.date())
    client = client_for(team.nurse)
    page = text_of(client.get(page_of(verified)))
    assert "While this order is out of date, a dose is recorded only as held or not given" in page
    before = row_counts(*WRITTEN)

    given = client.post(action(verified, "record_dose"), dose_post(1, "given", "2026-06-15T13:00"))

    assert given.status_code == 200
    assert NEWER_WEIGHT in [
        str(e) for e in given.context["record_forms"][0]["form"].errors["__all__"]
    ]
    assert row_counts(*WRITTEN) == before

    not_given = client.post(
        action(verified, "record_dose"),
        dose_post(1, "not_given", "2026-06-15T13:00", "Waiting for the new order"),
    )

    assert not_given.status_code == 302
    assert Administration.objects.get().outcome == AdministrationOutcome.NOT_GIVEN
