"""The journey page's orders card: the orders of the journey's current course with their doses
summarised (and dated when the infusion is planned), and the treating physician's two actions,
"Order lymphodepletion" (with a creatinine) and "Order IL-2". Refusals are said in words on the
card and write nothing; other roles are refused (403) and a facility never learns of the card
(404).

Theodora (born 12 April 1968) is 80 kg and 180 cm, measured on 14 June 2026; the Riverside center
(New York) has the lifileucel settings of the treatment tests in force. Her doses are the label's
worked examples (tilcare/treatment/tests/test_orders.py): cyclophosphamide 60 mg/kg × 80 kg =
4,800 mg, fludarabine 25 mg/m² × 2.00 m² = 50 mg, IL-2 600,000 IU/kg × 80 kg = 48,000,000 IU.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, row_counts
from tilcare.journey import services
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.selectors import course_of
from tilcare.journey.tests.factories import CareTeam, open_journey_for, walk_to
from tilcare.journey.views.orders import dose_lines
from tilcare.patients.services import record_measurement
from tilcare.treatment.choices import OrderKind, OrderStatus
from tilcare.treatment.models import Order, OrderDose
from tilcare.treatment.services.orders import order_il2, order_lymphodepletion

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 16, 0, tzinfo=dt.UTC)  # noon in New York
MEASURED_ON = dt.date(2026, 6, 14)
WRITTEN = (Order, OrderDose, AuditEvent)
CYCLOPHOSPHAMIDE = "Cyclophosphamide 4,800 mg IV Day −7, −6"
FLUDARABINE = "Fludarabine 50 mg IV Day −5 … −1"
IL2 = "IL-2 48,000,000 IU (48 MIU) IV × 6 doses"
NOT_IN_FORCE = (
    "Lifileucel (Amtagvi), US label regimen 2024: the center's protocol settings are not in "
    "force yet. A pharmacist and a treating physician of the center enter and sign them on the "
    "Protocols page; no dose is calculated before."
)
NO_MEASUREMENT = (
    "Record the patient's height and weight before ordering: the doses are calculated from them."
)
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "orders"}


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOW):
        yield


def url(journey: Journey, kind: str) -> str:
    return f"/journeys/{journey.public_id}/orders/{kind}/"


def lymphodepletion_body(creatinine: str = "0.8", drawn_on: str = "2026-06-14") -> dict[str, str]:
    return {
        "lymphodepletion-serum_creatinine_mg_per_dl": creatinine,
        "lymphodepletion-creatinine_drawn_on": drawn_on,
    }


def text_of(content: bytes) -> str:
    """The HTML as text: tags removed, entities read, whitespace made single spaces (none inside
    brackets or before a comma)."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", content.decode())).split())
    return text.replace("( ", "(").replace(" )", ")").replace(" ,", ",")


def journey_page(user: Any, journey: Journey) -> str:
    response = client_for(user).get(f"/journeys/{journey.public_id}/")
    assert response.status_code == 200
    return response.content.decode()


def orders_section(page: str) -> str:
    start = page.index('<section class="card orders-card" id="orders"')
    return text_of(page[start : page.index("</section>", start)].encode())


def doses_of(order: Order) -> list[tuple[Any, ...]]:
    return [
        (d.sequence, d.day, d.agent, d.route, str(d.dose), d.dose_unit)
        for d in order.doses.order_by("sequence")
    ]


def plan_infusion(journey: Journey, team: CareTeam, on: dt.date) -> None:
    services.plan_journey(journey, actor=team.navigator, changes={"planned_infusion_on": on})


# 1. The physician orders from the page ----------------------------------------------------------


def test_the_physician_orders_lymphodepletion_and_the_card_shows_its_doses(
    team, journey, measured, in_force
):
    # When the physician sends the form without htmx
    response = client_for(team.physician).post(
        url(journey, "lymphodepletion"), lymphodepletion_body()
    )

    # Then the order is written for the journey's course and the page says so
    assert response.status_code == 302
    assert response["Location"] == f"/journeys/{journey.public_id}/#orders"
    order = Order.objects.get()
    assert (
        order.kind,
        order.status,
        order.coi_din,
        order.manufacture_attempt,
        order.ordered_by,
        order.activation,
    ) == (
        OrderKind.LYMPHODEPLETION,
        OrderStatus.AWAITING_VERIFICATION,
        journey.coi_din,
        1,
        team.physician,
        in_force,
    )
    assert doses_of(order)[:3] == [
        (1, -7, "cyclophosphamide", "IV", "4800.00", "mg"),
        (2, -6, "cyclophosphamide", "IV", "4800.00", "mg"),
        (3, -5, "fludarabine", "IV", "50.00", "mg"),
    ]
    card = orders_section(journey_page(team.physician, journey))
    assert (
        "Lymphodepletion (cyclophosphamide with mesna, fludarabine) Awaiting pharmacist "
        "verification Center settings version 1 · ordered by "
        f"{team.physician.printed_name} on 15 Jun 2026, 12:00 {CYCLOPHOSPHAMIDE} {FLUDARABINE}"
    ) in card
    assert f"{CYCLOPHOSPHAMIDE} {FLUDARABINE}" in card
    # No second open lymphodepletion order is offered; IL-2 still is
    assert "Order lymphodepletion" not in card
    assert "Order IL-2" in card


def test_the_physician_orders_il2_with_htmx_and_gets_the_card_back(
    team, journey, measured, in_force
):
    response = client_for(team.physician).post(url(journey, "il2"), **HTMX)

    assert response.status_code == 200
    order = Order.objects.get()
    assert (order.kind, order.status) == (OrderKind.IL2, OrderStatus.AWAITING_VERIFICATION)
    assert doses_of(order) == [
        (n, None, "aldesleukin", "IV", "48000000.00", "IU") for n in range(1, 7)
    ]
    card = text_of(response.content)
    assert card.startswith("Orders ")
    assert (
        "Ordered: High-dose IL-2 (aldesleukin). It awaits a pharmacist's verification before "
        "any dose is given."
    ) in card
    assert IL2 in card
    assert "Order IL-2" not in card
    assert "Order lymphodepletion" in card


def test_each_order_links_to_its_page(team, journey, measured, in_force):
    order = order_il2(course_of(journey), actor=team.physician)

    page = journey_page(team.nurse, journey)

    link = reverse("treatment:order", kwargs={"public_id": order.public_id})
    assert f'<a href="{link}">High-dose IL-2 (aldesleukin)</a>' in page


# 2. Who may order -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "navigator"])
@pytest.mark.parametrize("kind", ["lymphodepletion", "il2"])
def test_other_center_roles_are_refused_and_nothing_is_written(
    team, journey, measured, in_force, role, kind
):
    before = row_counts(*WRITTEN)

    response = client_for(getattr(team, role)).post(url(journey, kind), lymphodepletion_body())

    assert response.status_code == 403
    assert row_counts(*WRITTEN) == before
    # and the card they see offers no order
    card = orders_section(journey_page(getattr(team, role), journey))
    assert "Order lymphodepletion" not in card
    assert "Order IL-2" not in card
    assert "No order for this course yet." in card


@pytest.mark.parametrize("kind", ["lymphodepletion", "il2"])
def test_a_facility_user_never_learns_of_the_orders(team, journey, measured, in_force, kind):
    # Given a journey the facility manufactures, with an order
    journey = walk_to(journey, Stage.AT_MANUFACTURING, users=team)
    order_il2(course_of(journey), actor=team.physician)
    before = row_counts(*WRITTEN)

    response = client_for(team.manufacturing_tech).post(url(journey, kind), lymphodepletion_body())

    assert response.status_code == 404
    assert row_counts(*WRITTEN) == before
    page = journey_page(team.manufacturing_tech, journey)
    assert 'id="orders"' not in page
    assert "IL-2" not in page


# 3. Refusals in words ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["lymphodepletion", "il2"])
def test_without_settings_in_force_the_card_says_so_and_nothing_is_written(
    team, journey, measured, kind
):
    before = row_counts(*WRITTEN)

    response = client_for(team.physician).post(url(journey, kind), lymphodepletion_body(), **HTMX)

    assert response.status_code == 200
    assert row_counts(*WRITTEN) == before
    assert f"Nothing was ordered. {NOT_IN_FORCE}" in text_of(response.content)


def test_without_height_and_weight_the_card_says_so(team, journey, in_force):
    before = row_counts(*WRITTEN)

    response = client_for(team.physician).post(url(journey, "il2"), **HTMX)

    assert row_counts(*WRITTEN) == before
    assert f"Nothing was ordered. {NO_MEASUREMENT}" in text_of(response.content)


def test_without_htmx_a_refusal_is_said_at_the_top_of_the_page(team, journey, measured):
    client = client_for(team.physician)

    response = client.post(url(journey, "il2"), follow=True)

    assert response.redirect_chain == [(f"/journeys/{journey.public_id}/#orders", 302)]
    assert [str(m) for m in response.context["messages"]] == [NOT_IN_FORCE]
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("creatinine", "drawn_on", "field", "message"),
    [
        (
            "25",
            "2026-06-14",
            "serum_creatinine_mg_per_dl",
            "Serum creatinine must be between 0.2 and 20 mg/dL.",
        ),
        ("", "2026-06-14", "serum_creatinine_mg_per_dl", "Serum creatinine (mg/dL) is required."),
        (
            "0.8",
            "14/06/2026",
            "creatinine_drawn_on",
            "Date drawn must be a valid date (YYYY-MM-DD).",
        ),
        ("0.8", "", "creatinine_drawn_on", "Date drawn is required."),
    ],
)
def test_a_bad_creatinine_is_refused_on_its_field(
    team, journey, measured, in_force, creatinine, drawn_on, field, message
):
    before = row_counts(*WRITTEN)

    response = client_for(team.physician).post(
        url(journey, "lymphodepletion"), lymphodepletion_body(creatinine, drawn_on), **HTMX
    )

    assert row_counts(*WRITTEN) == before
    page = response.content.decode()
    error = re.search(rf'id="id_lymphodepletion-{field}_error">(.*?)</div>', page, re.S)
    assert error is not None
    assert text_of(error.group(1).encode()) == message
    # The form stays open with what was typed
    assert f'value="{creatinine}"' in page or creatinine == ""


# 4. Dates of the study days ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "time_zone", "today"),
    [
        # 23:30 UTC is 19:30 in New York, the same day
        pytest.param(
            dt.datetime(2026, 6, 15, 23, 30, tzinfo=dt.UTC),
            "America/New_York",
            "Mon 15 Jun, today",
            id="23:30 UTC, New York: 15 June",
        ),
        # 05:30 UTC is 22:30 in Los Angeles, still the day before
        pytest.param(
            dt.datetime(2026, 6, 16, 5, 30, tzinfo=dt.UTC),
            "America/Los_Angeles",
            "Mon 15 Jun, today",
            id="05:30 UTC, Los Angeles: still 15 June",
        ),
        # 23:30 UTC is 01:30 in Amsterdam, the next day
        pytest.param(
            dt.datetime(2026, 6, 15, 23, 30, tzinfo=dt.UTC),
            "Europe/Amsterdam",
            "Tue 16 Jun, today",
            id="23:30 UTC, Amsterdam: already 16 June",
        ),
    ],
)
def test_study_days_are_dated_from_the_planned_infusion_in_the_center_s_calendar(
    team, journey, measured, in_force, moment, time_zone, today
):
    # Given an infusion planned on Monday 22 June (Day 0)
    plan_infusion(journey, team, dt.date(2026, 6, 22))
    team.center.time_zone = time_zone
    team.center.save(update_fields=["time_zone"])

    with time_machine.travel(moment, tick=False):
        # When the physician orders lymphodepletion and IL-2 at that moment
        client = client_for(team.physician)
        ordered = client.post(url(journey, "lymphodepletion"), lymphodepletion_body(), **HTMX)
        assert "Ordered: Lymphodepletion" in text_of(ordered.content), text_of(ordered.content)
        client.post(url(journey, "il2"))
        card = orders_section(journey_page(team.physician, journey))

    # Then each study day has its date; today's is marked where the center is
    monday = "Mon 15 Jun" if today.startswith("Tue") else today
    tuesday = "Tue 16 Jun, today" if today.startswith("Tue") else "Tue 16 Jun"
    assert "Day 0 (planned infusion): Mon 22 Jun 2026" in card
    assert f"{CYCLOPHOSPHAMIDE} {monday}, {tuesday} {FLUDARABINE}" in card
    assert f"{FLUDARABINE} Wed 17 Jun, Thu 18 Jun, Fri 19 Jun, Sat 20 Jun, Sun 21 Jun" in card
    # IL-2 doses follow the schedule after the infusion: no study day, no date
    assert f"{IL2} " in card or card.endswith(IL2)


def test_without_a_planned_infusion_the_days_have_no_dates(team, journey, measured, in_force):
    order_lymphodepletion(
        course_of(journey),
        serum_creatinine_mg_per_dl="0.8",
        creatinine_drawn_on=MEASURED_ON,
        actor=team.physician,
    )

    card = orders_section(journey_page(team.nurse, journey))

    assert "Infusion not planned: study days have no dates yet" in card
    assert f"{CYCLOPHOSPHAMIDE} {FLUDARABINE}" in card


def test_dose_lines_keep_separate_runs_of_one_agent_at_different_doses(
    team, journey, measured, in_force
):
    """A renal band can change one day's fludarabine only in a protocol that says so; whatever
    the rows, a run is one agent at one dose, in sequence."""
    order = order_lymphodepletion(
        course_of(journey),
        serum_creatinine_mg_per_dl="0.8",
        creatinine_drawn_on=MEASURED_ON,
        actor=team.physician,
    )
    rows = list(order.doses.order_by("sequence"))
    rows[-1].dose = rows[-1].dose - 1  # an in-memory variation, never saved

    lines = dose_lines(_with_doses(order, rows), dt.date(2026, 6, 22), dt.date(2026, 6, 15))

    assert [(line.dose, line.days) for line in lines] == [
        ("Cyclophosphamide 4,800 mg IV", "Day −7, −6"),
        ("Fludarabine 50 mg IV", "Day −5 … −2"),
        ("Fludarabine 49 mg IV", "Day −1"),
    ]


def _with_doses(order: Order, rows: list[OrderDose]) -> Any:
    class Doses:
        def all(self) -> list[OrderDose]:
            return rows

    class Shown:
        doses = Doses()

    return Shown()


# 5. The newer-inputs warning --------------------------------------------------------------------


def test_a_newer_measurement_is_warned_on_the_order(team, journey, measured, in_force):
    order_il2(course_of(journey), actor=team.physician)
    record_measurement(
        journey.patient, actor=team.nurse, measured_on=NOW.date(), weight_kg="78", height_cm="180"
    )

    card = orders_section(journey_page(team.physician, journey))

    assert (
        "A newer height and weight (78.0 kg, 180.0 cm, measured 15 Jun 2026) were recorded after "
        "this order was written from 80.0 kg, 180.0 cm: write it again so the doses follow the "
        "new measurement, and have it verified again."
    ) in card


def test_a_closed_journey_offers_no_order(team, patient, measured, in_force):
    journey = open_journey_for(patient, team.navigator)
    services.advance(
        journey,
        Stage.WITHDRAWN,
        actor=team.navigator,
        withdrawal_reason="patient_decision",
    )

    card = orders_section(journey_page(team.physician, journey))
    response = client_for(team.physician).post(url(journey, "il2"), **HTMX)

    assert "Order IL-2" not in card
    assert Order.objects.count() == 0
    assert "This journey is closed (“Withdrawn”): no treatment is ordered on it." in text_of(
        response.content
    )
