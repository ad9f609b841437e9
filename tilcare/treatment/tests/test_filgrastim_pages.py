"""Filgrastim on the pages and the API: the physician orders it from the journey's orders card (a
number of days), reads the order's page (the daily dose with its working, the stop rule) and stops
it there, or through the API, on the protocol's ANC rule or with the institution's reason. The
fold and the stop form are the treating physician's only; refusals are said on the card or the
form, naming the field, and write nothing.

Theodora weighs 72.3 kg (measured the day before); Riverside (New York) gives filgrastim 5 µg/kg:
5 × 72.3 = 361.5 µg, rounded half up to 362 µg (see test_filgrastim.py).
"""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.urls import reverse

from tilcare.core.tests.clients import client_for, invalid_input, post_json, row_counts
from tilcare.journey.choices import Protocol
from tilcare.journey.models import Journey
from tilcare.journey.selectors import course_of
from tilcare.journey.tests.factories import CareTeam, make_team, open_journey_for, theodora_at
from tilcare.patients.models import Patient
from tilcare.patients.tests.factories import TEST_PASSWORD
from tilcare.treatment.choices import AdministrationOutcome, OrderKind, OrderStatus
from tilcare.treatment.models import Order, ProtocolActivation
from tilcare.treatment.schemas.orders import ANC_AS_TEXT
from tilcare.treatment.services.filgrastim import order_filgrastim, stop_filgrastim
from tilcare.treatment.services.orders import Course, verify_order
from tilcare.treatment.tests.factories import (
    NKI,
    activate,
    course_for,
    infused,
    infusion_day,
    measure,
)
from tilcare.treatment.tests.test_filgrastim import (
    DAY,
    GIVE_THE_REASON,
    MET_ON_DAY_11,
    NOW,
    WRITTEN,
    YESTERDAY,
    daily,
    dose_rows,
    give_days,
    outcomes,
    verified,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "orders"}
NOT_PRESCRIBER = "Only a treating physician of this center writes treatment orders."
ORDERED = (
    "Ordered: Filgrastim (G-CSF), daily from Day +1. It awaits a pharmacist's verification before "
    "any dose is given."
)
STOPPED = "Filgrastim stopped: the remaining doses are recorded not given."
RULE_MET = {"9": "1200", "10": "1500", "11": "1100"}
EXACTLY_1000 = (
    "1 consecutive day above 1000/mm³ so far (Day +11); 3 needed. Filgrastim (or a biosimilar) "
    "continues daily, or per institutional standard." + GIVE_THE_REASON
)
INSTITUTIONAL = "Institutional standard: ANC above 1000/mm³ on 2 days after Day +7."


@pytest.fixture(autouse=True)
def frozen(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def theodora(team: CareTeam) -> Patient:
    """Theodora, 72.3 kg and 180 cm measured yesterday."""
    patient = theodora_at(team.center)
    measure(patient, team.nurse, "72.3", YESTERDAY)
    return patient


@pytest.fixture
def journey(team: CareTeam, theodora: Patient, in_force: ProtocolActivation) -> Journey:
    return open_journey_for(theodora, team.navigator)


@pytest.fixture
def course(theodora: Patient) -> Course:
    return course_for(theodora)


@pytest.fixture
def running(
    team: CareTeam, in_force: ProtocolActivation, course: Course, time_machine: Any
) -> Order:
    """A verified 14-day order whose Day +1 to Day +10 were given; the clock on Day +11."""
    order = verified(course, team, 14)
    give_days(order, team, time_machine, range(1, 11))
    time_machine.move_to(NOW + 11 * DAY, tick=False)
    return order


def text_of(content: bytes | str) -> str:
    """The HTML as a reader sees it: tags dropped, entities read, spaces squeezed."""
    raw = content.decode() if isinstance(content, bytes) else content
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", raw)).split())


def card_url(journey: Journey) -> str:
    return f"/journeys/{journey.public_id}/orders/filgrastim/"


def orders_card(user: Any, journey: Journey) -> str:
    """The orders card of the journey page, as HTML."""
    page = client_for(user).get(f"/journeys/{journey.public_id}/").content.decode()
    start = page.index('<section class="card orders-card" id="orders"')
    return page[start : page.index("</section>", start)]


def page_of(order: Order) -> str:
    return reverse("treatment:order", kwargs={"public_id": order.public_id})


def stop_url(order: Order) -> str:
    return reverse("treatment:order_filgrastim_stop", kwargs={"public_id": order.public_id})


def api_stop_url(order: Order) -> str:
    return f"/api/v1/treatment/orders/{order.public_id}/filgrastim-stop"


def stop_body(anc: dict[str, str], reason: str = "") -> dict[str, str]:
    """The stop form's rows filled in order (stop-day_<n>, stop-anc_<n>) and the reason."""
    body = {"stop-reason": reason}
    for row, (day, value) in enumerate(anc.items(), start=1):
        body |= {f"stop-day_{row}": day, f"stop-anc_{row}": value}
    return body


def field_values(content: bytes, name: str) -> str | None:
    """The value an input named `name` shows (None when it has none)."""
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', content.decode())
    assert tag is not None, name
    value = re.search(r'value="([^"]*)"', tag.group(0))
    return value.group(1) if value else None


# 1. Ordering from the journey's orders card -----------------------------------------------------


def test_the_physician_orders_filgrastim_from_the_card(team: CareTeam, journey: Journey) -> None:
    # Given the card offers the physician the fold with its days field
    card = orders_card(team.physician, journey)
    assert f'action="{card_url(journey)}#orders"' in card
    assert 'name="days"' in card
    assert "Order filgrastim" in text_of(card)

    # When the physician sends 7 days without htmx
    response = client_for(team.physician).post(card_url(journey), {"days": "7"}, follow=True)

    # Then the order is written for the journey's course, 362 µg SC on Day +1 to Day +7
    assert response.redirect_chain == [(f"/journeys/{journey.public_id}/#orders", 302)]
    assert [str(m) for m in response.context["messages"]] == [ORDERED]
    order = Order.objects.get()
    assert (order.kind, order.status, order.coi_din, order.ordered_by) == (
        OrderKind.FILGRASTIM,
        OrderStatus.AWAITING_VERIFICATION,
        journey.coi_din,
        team.physician,
    )
    assert dose_rows(order) == daily(range(1, 8), "362")
    # and the card lists it and no longer offers a second one
    card = text_of(orders_card(team.physician, journey))
    assert "Filgrastim (G-CSF), daily from Day +1 Awaiting pharmacist verification" in card
    assert "Order filgrastim" not in card


def test_the_physician_orders_filgrastim_with_htmx_and_gets_the_card_back(
    team: CareTeam, journey: Journey
) -> None:
    response = client_for(team.physician).post(card_url(journey), {"days": "3"}, **HTMX)

    assert response.status_code == 200
    order = Order.objects.get()
    assert dose_rows(order) == daily(range(1, 4), "362")
    card = text_of(response.content)
    assert card.startswith("Orders ")
    assert ORDERED in card
    assert "Order filgrastim" not in card
    assert "Order IL-2" in card


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("0", "Days must be between 1 and 30 days."),
        ("31", "Days must be between 1 and 30 days."),
        ("1.5", "Days must be a whole number from 1 to 30."),
        ("", "Days must be a whole number from 1 to 30."),
        ("seven", "Days must be a whole number from 1 to 30."),
    ],
)
def test_a_refused_number_of_days_is_said_on_the_card_and_nothing_is_written(
    team: CareTeam, journey: Journey, days: str, message: str
) -> None:
    before = row_counts(*WRITTEN)

    response = client_for(team.physician).post(card_url(journey), {"days": days}, **HTMX)

    assert response.status_code == 200
    assert row_counts(*WRITTEN) == before
    assert f"Nothing was ordered. {message}" in text_of(response.content)
    # and the fold is still offered
    assert 'name="days"' in response.content.decode()


def test_without_htmx_a_refusal_is_said_at_the_top_of_the_page(
    team: CareTeam, journey: Journey
) -> None:
    response = client_for(team.physician).post(card_url(journey), {"days": "31"}, follow=True)

    assert response.redirect_chain == [(f"/journeys/{journey.public_id}/#orders", 302)]
    assert [str(m) for m in response.context["messages"]] == ["Days must be between 1 and 30 days."]
    assert Order.objects.count() == 0


@pytest.mark.parametrize("role", ["nurse", "pharmacist", "navigator"])
def test_other_roles_get_no_fold_and_are_refused(
    team: CareTeam, journey: Journey, role: str
) -> None:
    user = getattr(team, role)
    before = row_counts(*WRITTEN)

    assert 'name="days"' not in orders_card(user, journey)
    response = client_for(user).post(card_url(journey), {"days": "7"}, **HTMX)

    assert response.status_code == 403
    assert row_counts(*WRITTEN) == before


def test_an_nki_journey_offers_no_filgrastim_and_a_post_is_refused_in_words(
    team: CareTeam, theodora: Patient
) -> None:
    # Given the NKI protocol in force and an NKI journey (its sources give no filgrastim regimen)
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=NKI)
    journey = open_journey_for(theodora, team.navigator, protocol=Protocol.NKI_TIL_2022)
    card = orders_card(team.physician, journey)
    assert 'name="days"' not in card
    assert "Order filgrastim" not in text_of(card)
    assert "Order IL-2" in text_of(card)
    before = row_counts(*WRITTEN)

    response = client_for(team.physician).post(card_url(journey), {"days": "7"}, **HTMX)

    assert row_counts(*WRITTEN) == before
    assert (
        "Nothing was ordered. This protocol's sources give no filgrastim regimen; the treating "
        "physician orders it outside tilcare."
    ) in text_of(response.content)


def test_a_stopped_course_offers_no_new_order(
    team: CareTeam, journey: Journey, time_machine: Any
) -> None:
    # Given the course's filgrastim stopped on the ANC rule
    order = verified(course_of(journey), team, 14)
    give_days(order, team, time_machine, range(1, 11))
    time_machine.move_to(NOW + 11 * DAY, tick=False)
    stop_filgrastim(order, anc=RULE_MET, actor=team.physician)

    # Then the card lists it stopped and offers no new order; a post is refused in words
    card = orders_card(team.physician, journey)
    assert "Filgrastim (G-CSF), daily from Day +1 Stopped" in text_of(card)
    assert 'name="days"' not in card
    before = row_counts(*WRITTEN)
    response = client_for(team.physician).post(card_url(journey), {"days": "3"}, **HTMX)
    assert row_counts(*WRITTEN) == before
    assert "Nothing was ordered. Filgrastim was stopped for this course." in text_of(
        response.content
    )


# 2. The order's page ----------------------------------------------------------------------------


def test_the_order_page_shows_the_daily_dose_its_working_and_the_stop_rule(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    order = verified(course, team, 7)

    response = client_for(team.nurse).get(page_of(order))

    assert response.status_code == 200
    text = text_of(response.content)
    assert "Filgrastim (G-CSF), daily from Day +1 Verified" in text
    for n in range(1, 8):
        assert f"Day +{n} Filgrastim SC 362 µg Not recorded yet" in text
    assert "Days ordered 7 daily doses by the physician" in text
    assert (
        "Filgrastim (or a biosimilar): 362 µg daily Formula dose (µg) = dose per kg (µg/kg, the "
        "center's) × actual weight (kg) Working 5 µg/kg × 72.3 kg (actual weight) = 361.5 µg, "
        "rounded to a whole µg (half up): 362 µg Dosing weight Actual weight: 72.3 kg"
    ) in text
    assert "None kg" not in text
    assert (
        "From Day +1, daily until the ANC > 1000/mm³ for 3 consecutive days, or per "
        "institutional standard."
    ) in text
    # the nurse is not offered the stop
    assert "Stop filgrastim" not in text
    assert 'name="stop-reason"' not in response.content.decode()


def test_the_stop_form_is_the_physicians_and_only_on_a_verified_order(
    team: CareTeam, in_force: ProtocolActivation, course: Course
) -> None:
    # Awaiting verification: no stop form
    order = order_filgrastim(course, days=7, actor=team.physician)
    assert "Stop filgrastim" not in text_of(client_for(team.physician).get(page_of(order)).content)

    # Verified: the physician is offered it, the pharmacist not
    verify_order(order, actor=team.pharmacist, password=TEST_PASSWORD)
    physician = client_for(team.physician).get(page_of(order))
    pharmacist = client_for(team.pharmacist).get(page_of(order))

    text = text_of(physician.content)
    assert (
        "Stop filgrastim The protocol stops filgrastim once the ANC > 1000/mm³ for 3 consecutive "
        "days. Enter the absolute neutrophil count"
    ) in text
    assert f'action="{stop_url(order)}#filgrastim-stop"' in physician.content.decode()
    # Without an infusion started, no study day is prefilled
    assert [field_values(physician.content, f"stop-day_{n}") for n in range(1, 6)] == [None] * 5
    assert "Stop filgrastim" not in text_of(pharmacist.content)


INFUSION_START = dt.datetime(2026, 12, 16, 4, 0, tzinfo=dt.UTC)  # 23:00 on 15 Dec in New York


@pytest.mark.parametrize(
    ("at", "days"),
    [
        # 18:30 on 26 Dec in New York: Day +11 (by UTC dates it would be Day +10)
        (dt.datetime(2026, 12, 26, 23, 30, tzinfo=dt.UTC), ["7", "8", "9", "10", "11"]),
        # 00:30 on 27 Dec in New York: Day +12 (by UTC dates it would be Day +11)
        (dt.datetime(2026, 12, 27, 5, 30, tzinfo=dt.UTC), ["8", "9", "10", "11", "12"]),
    ],
    ids=["23:30-utc", "05:30-utc"],
)
def test_the_stop_form_offers_the_last_study_days_on_the_centers_calendar(
    team: CareTeam, in_force: ProtocolActivation, time_machine: Any, at: dt.datetime, days: list
) -> None:
    # Given a course infused at 23:00 on 15 December in New York (Day 0), with filgrastim verified
    day = infusion_day(team, time_machine, last=INFUSION_START - 29 * dt.timedelta(hours=1))
    infused(day, time_machine, INFUSION_START)
    order = verified(course_of(day.journey), team, 14)

    # When the physician opens the order's page at `at`
    time_machine.move_to(at, tick=False)
    response = client_for(team.physician).get(page_of(order))

    # Then the five rows offer the last five study days up to today, the ANC left to enter
    assert [field_values(response.content, f"stop-day_{n}") for n in range(1, 6)] == days
    assert [field_values(response.content, f"stop-anc_{n}") for n in range(1, 6)] == [None] * 5


@pytest.mark.parametrize(
    ("at", "first_day"),
    [
        # 18:30 on 18 Dec in New York: Day +3 (by UTC dates, 19 Dec, it would be Day +4)
        (dt.datetime(2026, 12, 18, 23, 30, tzinfo=dt.UTC), 3),
        # 00:30 on 19 Dec in New York: Day +4
        (dt.datetime(2026, 12, 19, 5, 30, tzinfo=dt.UTC), 4),
    ],
    ids=["23:30-utc", "05:30-utc"],
)
def test_an_order_written_after_day_0_starts_today_not_on_days_already_past(
    team: CareTeam,
    in_force: ProtocolActivation,
    time_machine: Any,
    at: dt.datetime,
    first_day: int,
) -> None:
    # Given a course infused at 23:00 on 15 December in New York (Day 0)
    day = infusion_day(team, time_machine, last=INFUSION_START - 29 * dt.timedelta(hours=1))
    infused(day, time_machine, INFUSION_START)

    # When the physician orders filgrastim for 5 days at `at`
    time_machine.move_to(at, tick=False)
    order = order_filgrastim(course_of(day.journey), days=5, actor=team.physician)

    # Then its doses run from today's study day on the center's calendar, five days
    assert [d.day for d in order.doses.order_by("sequence")] == list(
        range(first_day, first_day + 5)
    )


def test_the_physician_stops_on_the_rule_from_the_page(team: CareTeam, running: Order) -> None:
    response = client_for(team.physician).post(stop_url(running), stop_body(RULE_MET), follow=True)

    assert response.redirect_chain == [(f"{page_of(running)}#doses", 302)]
    assert [str(m) for m in response.context["messages"]] == [STOPPED]
    assert Order.objects.get(pk=running.pk).status == OrderStatus.STOPPED
    assert outcomes(running) == [
        *[(n, AdministrationOutcome.GIVEN, "") for n in range(1, 11)],
        *[(n, AdministrationOutcome.NOT_GIVEN, MET_ON_DAY_11) for n in range(11, 15)],
    ]
    text = text_of(response.content)
    assert "Filgrastim (G-CSF), daily from Day +1 Stopped" in text
    assert 'name="stop-reason"' not in response.content.decode()


def test_exactly_1000_is_refused_on_the_form_and_nothing_is_written(
    team: CareTeam, running: Order
) -> None:
    before = row_counts(*WRITTEN)
    body = stop_body({"9": "1200", "10": "1000", "11": "1100"})

    response = client_for(team.physician).post(stop_url(running), body)

    assert response.status_code == 422
    assert row_counts(*WRITTEN) == before
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED
    errors = re.search(
        r'id="filgrastim-stop".*?<div class="form-errors" role="alert">(.*?)</div>',
        response.content.decode(),
        re.S,
    )
    assert errors is not None
    assert text_of(errors.group(1)) == EXACTLY_1000
    # what was typed stays in the rows
    assert [field_values(response.content, f"stop-anc_{n}") for n in range(1, 4)] == [
        "1200",
        "1000",
        "1100",
    ]


def test_the_physician_stops_on_the_institutions_standard_with_a_reason(
    team: CareTeam, running: Order
) -> None:
    body = stop_body({"9": "1200", "10": "1000", "11": "1100"}, reason=INSTITUTIONAL)

    response = client_for(team.physician).post(stop_url(running), body)

    assert response.status_code == 302
    why = f"Filgrastim stopped on the institution's standard: {INSTITUTIONAL}"
    assert Order.objects.get(pk=running.pk).status == OrderStatus.STOPPED
    assert outcomes(running)[10:] == [
        (n, AdministrationOutcome.NOT_GIVEN, why) for n in range(11, 15)
    ]


@pytest.mark.parametrize(
    ("anc", "message"),
    [
        ({"abc": "1200"}, "“abc” is not a study day after the infusion (1 to 365)."),
        ({"9": "1200.5"}, "ANC on Day +9 takes at most 0 decimal place(s) in /mm³."),
    ],
    ids=["day-abc", "decimal"],
)
def test_an_unusable_row_is_refused_on_the_form(
    team: CareTeam, running: Order, anc: dict[str, str], message: str
) -> None:
    before = row_counts(*WRITTEN)

    response = client_for(team.physician).post(
        stop_url(running), stop_body(anc, reason=INSTITUTIONAL)
    )

    assert response.status_code == 422
    assert row_counts(*WRITTEN) == before
    assert message in text_of(response.content)


@pytest.mark.parametrize("role", ["nurse", "pharmacist"])
def test_only_the_physician_stops_from_the_page(team: CareTeam, running: Order, role: str) -> None:
    before = row_counts(*WRITTEN)

    response = client_for(getattr(team, role)).post(stop_url(running), stop_body(RULE_MET))

    assert response.status_code == 403
    assert row_counts(*WRITTEN) == before
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED


def test_another_centers_physician_is_answered_not_found(team: CareTeam, running: Order) -> None:
    other = make_team()
    before = row_counts(*WRITTEN)

    page = client_for(other.physician).get(page_of(running))
    stop = client_for(other.physician).post(stop_url(running), stop_body(RULE_MET))

    assert (page.status_code, stop.status_code) == (404, 404)
    assert row_counts(*WRITTEN) == before


# 3. The API -------------------------------------------------------------------------------------


def test_the_api_stops_on_the_rule_and_answers_the_order(team: CareTeam, running: Order) -> None:
    response = post_json(
        client_for(team.physician), api_stop_url(running), {"anc": RULE_MET, "reason": ""}
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["kind"], body["status"]) == (OrderKind.FILGRASTIM, OrderStatus.STOPPED)
    answered = [
        (d["day"], d["administration"]["outcome"], d["administration"]["reason"])
        for d in body["doses"][10:]
    ]
    assert answered == [(n, AdministrationOutcome.NOT_GIVEN, MET_ON_DAY_11) for n in range(11, 15)]
    assert Order.objects.get(pk=running.pk).status == OrderStatus.STOPPED


def test_the_api_stops_on_the_institutions_standard(team: CareTeam, running: Order) -> None:
    response = post_json(
        client_for(team.physician),
        api_stop_url(running),
        {"anc": {"9": "1200", "10": "1000"}, "reason": INSTITUTIONAL},
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == OrderStatus.STOPPED


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (
            {"anc": {"9": "1200", "10": "1000", "11": "1100"}},
            {"anc": [EXACTLY_1000]},
        ),
        (
            {"anc": {"9": True}},
            {"anc.9": [ANC_AS_TEXT]},
        ),
        (
            {"anc": RULE_MET, "reson": "typo"},
            {"reson": ["Unknown field; check its spelling against the API documentation."]},
        ),
        (
            {"anc": {"abc": "1200"}, "reason": INSTITUTIONAL},
            {"anc.abc": ["“abc” is not a study day after the infusion (1 to 365)."]},
        ),
    ],
    ids=["exactly-1000", "true", "unknown-field", "day-abc"],
)
def test_the_api_refuses_by_field_and_writes_nothing(
    team: CareTeam, running: Order, body: object, errors: dict[str, list[str]]
) -> None:
    before = row_counts(*WRITTEN)

    response = post_json(client_for(team.physician), api_stop_url(running), body)

    assert response.status_code == 422, response.content
    assert response.json() == invalid_input(errors)
    assert row_counts(*WRITTEN) == before
    assert Order.objects.get(pk=running.pk).status == OrderStatus.VERIFIED


def test_the_api_refuses_a_nurse(team: CareTeam, running: Order) -> None:
    before = row_counts(*WRITTEN)

    response = post_json(client_for(team.nurse), api_stop_url(running), {"anc": RULE_MET})

    assert response.status_code == 403
    assert response.json() == {"detail": NOT_PRESCRIBER}
    assert row_counts(*WRITTEN) == before


def test_the_api_answers_another_centers_physician_not_found(
    team: CareTeam, running: Order
) -> None:
    other = make_team()
    before = row_counts(*WRITTEN)

    response = post_json(client_for(other.physician), api_stop_url(running), {"anc": RULE_MET})

    assert response.status_code == 404
    assert row_counts(*WRITTEN) == before
