"""Identity alerts: the page, acknowledging (page and API), who sees which, and no identity for
the facility."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent
from tilcare.core.tests.clients import client_for, post_json
from tilcare.identity.services.alerts import acknowledge_alert
from tilcare.identity.tests.factories import planned_journey, unreadable_scan_alert
from tilcare.journey.tests.factories import make_team
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory

pytestmark = pytest.mark.django_db

PAGE = "/identity/alerts/"
API = "/api/v1/identity/alerts"
SECRETS = ("Theodora", "Lindqvist", "MRN004512", "1968")


@pytest.fixture
def journey(team, theodora):
    return planned_journey(theodora, team)


@pytest.fixture
def alert(team, journey):
    """A high alert raised by a nurse's scan of something that is not a label."""
    return unreadable_scan_alert(journey.coi_din, team)


def ack_url(alert):
    return reverse("identity:alert-acknowledge", kwargs={"public_id": alert.public_id})


def _body(response) -> str:
    return response.content.decode()


# ---------- The page ----------


def test_the_page_lists_open_alerts_with_an_acknowledge_form(team, alert):
    response = client_for(team.navigator).get(PAGE)

    body = _body(response)
    assert response.status_code == 200
    assert f'id="alert-{alert.public_id}"' in body
    assert "Scan did not match" in body
    assert ack_url(alert) in body
    assert 'name="note"' in body


def test_the_page_for_the_facility_shows_the_alert_without_identity(team, alert):
    response = client_for(team.qa_reviewer).get(PAGE)

    body = _body(response)
    assert response.status_code == 200
    assert f'id="alert-{alert.public_id}"' in body
    assert ack_url(alert) in body  # QA may acknowledge
    for secret in SECRETS:
        assert secret not in body


def test_roles_that_may_not_acknowledge_see_no_form(team, alert):
    for user in (team.manufacturing_tech, team.nurse, team.social_worker):
        body = _body(client_for(user).get(PAGE))
        assert f'id="alert-{alert.public_id}"' in body
        assert ack_url(alert) not in body
        assert "Your role may see alerts but not acknowledge them." in body


def test_acknowledged_alerts_are_under_their_own_tab(team, alert):
    acknowledge_alert(alert, actor=team.navigator, note="Label reprinted and checked.")
    client = client_for(team.navigator)

    open_body = _body(client.get(PAGE))
    done_body = _body(client.get(PAGE, {"status": "acknowledged"}))

    assert "No open identity alerts." in open_body
    assert f'id="alert-{alert.public_id}"' in done_body
    assert "“Label reprinted and checked.”" in done_body


def test_another_centers_staff_do_not_see_the_alert(alert):
    stranger = make_team(CenterFactory(), FacilityFactory()).navigator

    body = _body(client_for(stranger).get(PAGE))

    assert f'id="alert-{alert.public_id}"' not in body


def test_the_page_is_refused_to_a_patient(alert):
    patient_user = make_team().navigator
    patient_user.role = "patient"
    patient_user.save()

    response = client_for(patient_user).get(PAGE)

    assert response.status_code == 403


# ---------- Acknowledging on the page ----------


def test_acknowledging_closes_the_alert_and_goes_back(team, alert, journey):
    back = reverse("journey:journey-detail", kwargs={"public_id": journey.public_id})

    response = client_for(team.navigator).post(
        ack_url(alert), {"note": "Bag checked against the order.", "next": back}
    )

    assert response.status_code == 302
    assert response["Location"] == back
    alert.refresh_from_db()
    assert alert.acknowledged_by == team.navigator
    assert alert.acknowledgement_note == "Bag checked against the order."
    assert AuditEvent.objects.filter(action="identity.alert.acknowledge").count() == 1


def test_an_empty_note_is_refused_and_the_alert_stays_open(team, alert):
    before = AuditEvent.objects.count()

    response = client_for(team.navigator).post(ack_url(alert), {"note": "  "}, follow=True)

    assert "Say what was checked or done (required)." in _body(response)
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert AuditEvent.objects.count() == before


def test_with_htmx_a_refused_note_comes_back_as_the_alert_with_its_message(team, alert):
    response = client_for(team.navigator).post(ack_url(alert), {"note": ""}, HTTP_HX_REQUEST="true")

    body = _body(response)
    assert response.status_code == 200
    assert body.lstrip().startswith("<article")
    assert "Say what was checked or done (required)." in body
    assert 'aria-invalid="true"' in body


def test_with_htmx_an_acknowledged_alert_comes_back_closed(team, alert):
    response = client_for(team.qa_reviewer).post(
        ack_url(alert), {"note": "Not our item; center informed."}, HTTP_HX_REQUEST="true"
    )

    body = _body(response)
    assert response.status_code == 200
    assert "Acknowledged by" in body
    assert 'name="note"' not in body
    for secret in SECRETS:
        assert secret not in body


def test_a_role_that_may_not_acknowledge_is_refused_and_nothing_changes(team, alert):
    before = AuditEvent.objects.count()

    response = client_for(team.nurse).post(ack_url(alert), {"note": "Seen."})

    assert response.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    assert AuditEvent.objects.count() == before


def test_another_centers_staff_get_404(alert):
    stranger = make_team(CenterFactory(), FacilityFactory()).navigator

    response = client_for(stranger).post(ack_url(alert), {"note": "Seen."})

    assert response.status_code == 404


def test_an_outside_next_url_is_not_followed(team, alert):
    response = client_for(team.navigator).post(
        ack_url(alert), {"note": "Checked.", "next": "https://example.com/"}
    )

    assert response["Location"] == PAGE


# ---------- The API ----------


def test_the_api_lists_open_alerts_by_default(team, alert):
    response = client_for(team.navigator).get(API)

    assert response.status_code == 200
    items = response.json()["items"]
    assert [a["public_id"] for a in items] == [str(alert.public_id)]
    assert items[0]["is_open"] is True
    assert items[0]["can_acknowledge"] is True
    assert items[0]["severity"] == "high"


def test_the_api_filters_by_status_and_coi(team, alert, journey):
    acknowledge_alert(alert, actor=team.navigator, note="Checked.")
    client = client_for(team.navigator)

    assert client.get(API).json()["count"] == 0
    assert client.get(API, {"status": "acknowledged"}).json()["count"] == 1
    assert client.get(API, {"status": "all", "coi": journey.coi_din}).json()["count"] == 1
    assert client.get(API, {"status": "all", "coi": "W123426999999"}).json()["count"] == 0
    assert client.get(API, {"status": "closed"}).status_code == 422


def test_the_api_acknowledges_with_a_note(team, alert):
    response = post_json(
        client_for(team.pharmacist),
        f"{API}/{alert.public_id}/acknowledge",
        {"note": "Relabelled by pharmacy."},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["is_open"] is False
    assert body["acknowledged_by"] == team.pharmacist.printed_name
    assert body["acknowledgement_note"] == "Relabelled by pharmacy."


def test_the_api_refuses_an_empty_note_naming_the_field(team, alert):
    response = post_json(
        client_for(team.navigator), f"{API}/{alert.public_id}/acknowledge", {"note": ""}
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {"note": ["Say what was checked or done (required)."]}


def test_the_api_refuses_a_second_acknowledgement_and_other_roles(team, alert):
    acknowledge_alert(alert, actor=team.navigator, note="Checked.")
    url = f"{API}/{alert.public_id}/acknowledge"
    body = {"note": "Again."}

    again = post_json(client_for(team.physician), url, body)
    nurse = post_json(client_for(team.nurse), url, body)

    assert again.status_code == 403
    assert nurse.status_code == 403
    alert.refresh_from_db()
    assert alert.acknowledgement_note == "Checked."


def test_the_api_answers_404_outside_the_users_organizations(alert):
    stranger = make_team(CenterFactory(), FacilityFactory()).navigator

    response = post_json(
        client_for(stranger), f"{API}/{alert.public_id}/acknowledge", {"note": "x"}
    )

    assert response.status_code == 404
    assert client_for(stranger).get(API).json()["count"] == 0


def test_the_facility_reads_alerts_without_identity_or_the_centers_note(team, alert):
    acknowledge_alert(alert, actor=team.navigator, note="Called Theodora Lindqvist's nurse.")

    response = client_for(team.manufacturing_tech).get(API, {"status": "all"})

    assert response.status_code == 200
    assert response.json()["items"][0]["acknowledgement_note"] is None
    for secret in SECRETS:
        assert secret.encode() not in response.content


# ---------- Navigation ----------


def test_navigation_offers_scan_and_alerts_by_permission(team):
    navigator = _body(client_for(team.navigator).get("/board/"))
    nurse = _body(client_for(team.nurse).get("/board/"))
    physician = _body(client_for(team.physician).get("/board/"))

    assert ">Scan<" in navigator and ">Alerts<" in navigator
    assert ">Scan<" in nurse and ">Alerts<" not in nurse
    assert ">Scan<" not in physician and ">Alerts<" in physician
