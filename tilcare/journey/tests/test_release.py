"""What a batch's release or rejection does to the journey, through the signed disposition and the
physician's acknowledgement (`tilcare.journey.services.release`, its pages and API operations).

Every disposition path: release records "Product released by the facility's QA" and asks the
navigator to move the journey on; release under exception is no release until a treating
physician of the center signs; rejection asks the physician to choose re-manufacture or
withdrawal. A wrong password writes nothing; QA of another facility and a physician of another
center are refused. Released bags are then received at the center.
"""

from __future__ import annotations

import json
import zoneinfo

import pytest
from django.test import Client

from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.tests.browser import sign_in as shared_sign_in
from tilcare.identity.models import Item
from tilcare.journey import services
from tilcare.journey.choices import MilestoneKind, Stage, TaskStatus, WithdrawalReason
from tilcare.journey.models import Journey, Milestone, Task
from tilcare.journey.services import custody, release
from tilcare.journey.tests.factories import plan_remanufacture
from tilcare.manufacturing.choices import BatchStatus, Disposition, ReleaseTestKind
from tilcare.manufacturing.models import QaDisposition
from tilcare.manufacturing.tests.test_release_services import (
    FAILING_VIABILITY,
    IDENTITY,
    Scene,
    bag_items,
    expiry,
    fresh,
    make_scene,
    ready_for_disposition,
)
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    FacilityFactory,
    UserFactory,
)

K = ReleaseTestKind


API = "/api/v1/manufacturing/batches"
pytestmark = pytest.mark.django_db


@pytest.fixture
def scene() -> Scene:
    return make_scene()


def journey_of(scene: Scene) -> Journey:
    return Journey.objects.get(pk=scene.journey.pk)


def released_milestones(scene: Scene) -> list[Milestone]:
    return list(
        Milestone.objects.filter(journey=scene.journey, kind=MilestoneKind.PRODUCT_RELEASED)
    )


def open_tasks(scene: Scene) -> list[tuple[str, str]]:
    tasks = Task.objects.filter(journey=scene.journey, status=TaskStatus.OPEN)
    return sorted((t.role, t.title) for t in tasks if "roduct" in t.title)


def counts() -> tuple[int, ...]:
    return (
        QaDisposition.objects.count(),
        Signature.objects.count(),
        Milestone.objects.count(),
        Task.objects.count(),
        Item.objects.filter(released_at__isnull=False).count(),
        AuditEvent.objects.count(),
    )


def dispose(scene: Scene, decision: str, *, actor=None, password=TEST_PASSWORD, **kwargs):
    return release.dispose_batch(
        fresh(scene.batch),
        decision=decision,
        password=password,
        actor=actor or scene.team.qa_reviewer,
        **kwargs,
    )


NAVIGATOR_TASK = (
    "Product released (attempt 1): move the journey to “Product released” and plan the shipment"
)
REJECTED_TASK = (
    "Product of attempt 1 rejected by the manufacturing facility: choose re-manufacture (a new "
    "resection) or withdrawal (manufacturing failure)"
)


def ack_task(scene: Scene) -> str:
    d = scene.batch.coi_din
    return (
        "Review and sign the release under exception of the product (attempt 1, batch "
        f"{d[:5]} {d[5:7]} {d[7:]} {scene.batch.coi_check})"
    )


# ---------- release ----------


def test_a_qa_release_records_the_milestone_and_asks_the_navigator_to_move_on(scene):
    ready_for_disposition(scene)

    outcome = dispose(scene, Disposition.RELEASE, expires_at=expiry())

    # Then the journey holds "Product released" for attempt 1, recorded by the QA reviewer
    [milestone] = released_milestones(scene)
    d = scene.batch.coi_din
    assert (milestone.attempt, milestone.recorded_by_id, milestone.reference) == (
        1,
        scene.team.qa_reviewer.pk,
        f"Batch {d[:5]} {d[5:7]} {d[7:]} {scene.batch.coi_check} attempt 1",
    )
    assert milestone.occurred_at == outcome.disposition.decided_at
    assert AuditEvent.objects.filter(
        action="journey.milestone.record", subject_id=str(scene.journey.public_id)
    ).exists()
    # And the journey waits for the navigator, who has a task for it
    assert journey_of(scene).stage == Stage.AT_MANUFACTURING
    assert open_tasks(scene) == [("navigator", NAVIGATOR_TASK)]
    assert outcome.notes == (
        "Recorded on the journey: Product released by the facility's QA.",
        "The journey stays in “At manufacturing” until the center's navigator moves it to "
        "“Product released”; a task asks them to.",
    )


def test_after_the_release_the_navigator_moves_the_journey_to_product_released(scene):
    ready_for_disposition(scene)
    dispose(scene, Disposition.RELEASE, expires_at=expiry())

    journey = services.advance(
        journey_of(scene), Stage.PRODUCT_RELEASED, actor=scene.team.navigator
    )

    assert journey.stage == Stage.PRODUCT_RELEASED


def test_a_wrong_password_writes_nothing_on_the_batch_or_the_journey(scene):
    ready_for_disposition(scene)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        dispose(scene, Disposition.RELEASE, password="not-mine", expires_at=expiry())

    assert list(refused.value.errors) == ["password"]
    assert counts() == before
    assert fresh(scene.batch).status == BatchStatus.RELEASE_TESTING


def test_qa_of_another_facility_is_refused(scene):
    ready_for_disposition(scene)
    stranger = UserFactory(role="qa_reviewer", organization=FacilityFactory())
    before = counts()

    with pytest.raises(PermissionDenied):
        dispose(scene, Disposition.RELEASE, actor=stranger, expires_at=expiry())

    assert counts() == before


def test_the_release_is_recorded_on_the_journey_once(scene):
    ready_for_disposition(scene)
    dispose(scene, Disposition.RELEASE, expires_at=expiry())

    step = release.on_batch_released(fresh(scene.batch), actor=scene.team.navigator)

    assert len(released_milestones(scene)) == 1
    assert (
        step.notes[0]
        == "“Product released by the facility's QA” was already recorded for this attempt."
    )
    assert step.advanced_to == Stage.PRODUCT_RELEASED


def test_released_bags_are_then_received_at_the_center(scene):
    ready_for_disposition(scene)
    dispose(scene, Disposition.RELEASE, expires_at=expiry())
    journey = services.advance(
        journey_of(scene), Stage.PRODUCT_RELEASED, actor=scene.team.navigator
    )

    steps = [
        custody.receive_product(journey, scanned_text=item.item_id, actor=scene.team.navigator)
        for item in bag_items(scene.batch)
    ]

    assert [s.accepted for s in steps] == [True, True]
    assert steps[-1].advanced_to == Stage.PRODUCT_AT_CENTER


# ---------- release under exception ----------


@pytest.fixture
def exception(scene) -> Scene:
    ready_for_disposition(scene, **{K.VIABILITY: FAILING_VIABILITY})
    dispose(
        scene,
        Disposition.RELEASE_EXCEPTION,
        reason="Viability 61 %; no alternative product.",
        expires_at=expiry(),
    )
    return scene


def test_an_exception_is_not_a_release_until_the_physician_signs(exception):
    scene = exception

    assert released_milestones(scene) == []
    assert {i.released_at for i in bag_items(scene.batch)} == {None}
    assert open_tasks(scene) == [("physician", ack_task(scene))]


def test_the_physicians_acknowledgement_releases_and_records_the_milestone(exception):
    scene = exception

    outcome = release.acknowledge_batch_exception(
        fresh(scene.batch), password=TEST_PASSWORD, actor=scene.team.physician
    )

    [milestone] = released_milestones(scene)
    assert milestone.recorded_by_id == scene.team.physician.pk
    assert milestone.occurred_at == outcome.disposition.physician_acknowledged_at
    assert "Acknowledged by" in milestone.note
    assert {i.released_at for i in bag_items(scene.batch)} == {milestone.occurred_at}
    assert fresh(scene.batch).status == BatchStatus.RELEASED_EXCEPTION
    # The physician's task is done; the navigator's to move the journey is open
    assert open_tasks(scene) == [("navigator", NAVIGATOR_TASK)]


def test_a_physician_of_another_center_may_not_acknowledge(exception):
    scene = exception
    stranger = UserFactory(role="physician", organization=CenterFactory())
    before = counts()

    with pytest.raises(PermissionDenied):
        release.acknowledge_batch_exception(
            fresh(scene.batch), password=TEST_PASSWORD, actor=stranger
        )

    assert counts() == before


def test_an_acknowledgement_with_a_wrong_password_writes_nothing(exception):
    scene = exception
    before = counts()

    with pytest.raises(InvalidInput):
        release.acknowledge_batch_exception(
            fresh(scene.batch), password="wrong", actor=scene.team.physician
        )

    assert counts() == before


# ---------- rejection ----------


@pytest.fixture
def rejected(scene) -> Scene:
    ready_for_disposition(scene, **{K.STERILITY: {"result_text": "Growth: S. aureus"}})
    dispose(scene, Disposition.REJECT, reason="Sterility failed: S. aureus.")
    return scene


def test_a_rejection_asks_the_physician_to_choose_remanufacture_or_withdrawal(rejected):
    scene = rejected

    assert open_tasks(scene) == [("physician", REJECTED_TASK)]
    assert released_milestones(scene) == []
    assert journey_of(scene).stage == Stage.AT_MANUFACTURING


def test_after_a_rejection_the_physician_sends_the_journey_to_remanufacture(rejected):
    scene = rejected
    journey = plan_remanufacture(journey_of(scene), users=scene.team)

    journey = services.advance(
        journey,
        Stage.RESECTION_SCHEDULED,
        actor=scene.team.physician,
        reason="Product rejected: sterility failed.",
    )

    assert (journey.stage, journey.manufacture_attempt) == (Stage.RESECTION_SCHEDULED, 2)


def test_after_a_rejection_the_physician_may_withdraw_for_manufacturing_failure(rejected):
    scene = rejected

    journey = services.advance(
        journey_of(scene),
        Stage.WITHDRAWN,
        actor=scene.team.physician,
        withdrawal_reason=WithdrawalReason.MANUFACTURING_FAILURE,
    )

    assert (journey.stage, journey.withdrawal_reason) == (Stage.WITHDRAWN, "manufacturing_failure")
    assert open_tasks(scene) == []


def test_a_batch_of_an_earlier_attempt_records_nothing_on_the_journey(scene):
    ready_for_disposition(scene)
    Journey.objects.filter(pk=scene.journey.pk).update(manufacture_attempt=2)

    outcome = dispose(scene, Disposition.RELEASE, expires_at=expiry())

    assert outcome.notes == (
        "This batch is manufacture attempt 1; the journey is on attempt 2: nothing was recorded "
        "on it.",
    )
    assert released_milestones(scene) == []


# ---------- pages ----------

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "batch-release"}


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def disposition_url(scene: Scene) -> str:
    return f"/release/{scene.batch.public_id}/disposition/"


def ack_url(scene: Scene) -> str:
    return f"/release/{scene.batch.public_id}/acknowledgement/"


def release_form(**extra: str) -> dict[str, str]:
    later = expiry().astimezone(zoneinfo.ZoneInfo("America/New_York"))  # the facility's zone
    data = {"decision": Disposition.RELEASE, "expires_at": f"{later:%Y-%m-%dT%H:%M}", "reason": ""}
    data.update({"password": TEST_PASSWORD, **extra})
    return data


def body(response) -> str:
    return response.content.decode()


def test_qa_signs_the_release_on_the_card(scene):
    ready_for_disposition(scene)

    response = signed_in(scene.team.qa_reviewer).post(
        disposition_url(scene), release_form(), **HTMX
    )

    assert response.status_code == 200
    text = body(response)
    assert "Disposition signed: Release." in text
    assert "Recorded on the journey: Product released by the facility&#x27;s QA." in text
    assert f"QA: signed by <strong>{scene.team.qa_reviewer.printed_name}</strong>" in text
    for value in IDENTITY:
        assert value not in text
    assert fresh(scene.batch).status == BatchStatus.RELEASED


def test_without_htmx_the_signed_release_goes_back_to_the_page_it_came_from(scene):
    ready_for_disposition(scene)
    back = f"/manufacturing/batches/{scene.batch.public_id}/"

    response = signed_in(scene.team.qa_reviewer).post(
        disposition_url(scene), release_form(next=back)
    )

    assert (response.status_code, response["Location"]) == (302, back)


def test_a_wrong_password_on_the_card_says_so_and_writes_nothing(scene):
    ready_for_disposition(scene)
    before = counts()

    response = signed_in(scene.team.qa_reviewer).post(
        disposition_url(scene), release_form(password="nope"), **HTMX
    )

    assert response.status_code == 200
    assert "The password is not correct. Enter your own password to sign." in body(response)
    assert counts() == before


def test_the_physician_signs_the_acknowledgement_on_the_card(exception):
    scene = exception
    page = signed_in(scene.team.physician).get(
        f"/manufacturing/batches/{scene.batch.public_id}/release/"
    )
    assert f'action="{ack_url(scene)}"' in body(page)

    response = signed_in(scene.team.physician).post(
        ack_url(scene), {"password": TEST_PASSWORD}, **HTMX
    )

    assert "Acknowledgement signed: the product is released under exception." in body(response)
    assert fresh(scene.batch).status == BatchStatus.RELEASED_EXCEPTION


@pytest.mark.parametrize(("role", "status"), [("other_qa", 404), ("navigator", 403)])
def test_who_may_not_sign_a_disposition_on_the_card(scene, role, status):
    ready_for_disposition(scene)
    user = (
        UserFactory(role="qa_reviewer", organization=FacilityFactory())
        if role == "other_qa"
        else scene.team.navigator
    )
    before = counts()

    response = signed_in(user).post(disposition_url(scene), release_form())

    assert response.status_code == status
    assert counts() == before


def test_a_physician_of_another_center_cannot_reach_the_acknowledgement(exception):
    stranger = UserFactory(role="physician", organization=CenterFactory())

    response = signed_in(stranger).post(ack_url(exception), {"password": TEST_PASSWORD})

    assert response.status_code == 404


# ---------- API ----------


def post(user, url: str, payload: dict[str, object]):
    return signed_in(user).post(url, data=json.dumps(payload), content_type="application/json")


def test_qa_signs_the_release_over_the_api(scene):
    ready_for_disposition(scene)

    response = post(
        scene.team.qa_reviewer,
        f"{API}/{scene.batch.public_id}/disposition",
        {"decision": "release", "password": TEST_PASSWORD, "expires_at": expiry().isoformat()},
    )

    assert response.status_code == 200
    answer = response.json()
    assert (answer["release"]["status"], answer["release"]["released"]) == ("released", True)
    assert answer["release"]["disposition"]["qa_signature"]["meaning"] == "QA release"
    assert answer["journey_notes"][0] == (
        "Recorded on the journey: Product released by the facility's QA."
    )
    for value in IDENTITY:
        assert value.encode() not in response.content


def test_a_wrong_password_over_the_api_is_a_field_error(scene):
    ready_for_disposition(scene)
    before = counts()

    response = post(
        scene.team.qa_reviewer,
        f"{API}/{scene.batch.public_id}/disposition",
        {"decision": "release", "password": "nope", "expires_at": expiry().isoformat()},
    )

    assert response.status_code == 422
    assert response.json()["errors"] == {
        "password": ["The password is not correct. Enter your own password to sign."]
    }
    assert counts() == before


def test_the_physician_acknowledges_over_the_api(exception):
    scene = exception

    response = post(
        scene.team.physician,
        f"{API}/{scene.batch.public_id}/acknowledgement",
        {"password": TEST_PASSWORD},
    )

    assert response.status_code == 200
    signature = response.json()["release"]["disposition"]["physician_acknowledgement"]
    assert (signature["printed_name"], signature["valid"]) == (
        scene.team.physician.printed_name,
        True,
    )


@pytest.mark.parametrize(("who", "status"), [("other_qa", 404), ("manufacturing_tech", 403)])
def test_who_may_not_sign_over_the_api(scene, who, status):
    ready_for_disposition(scene)
    user = (
        UserFactory(role="qa_reviewer", organization=FacilityFactory())
        if who == "other_qa"
        else scene.team.manufacturing_tech
    )

    response = post(
        user,
        f"{API}/{scene.batch.public_id}/disposition",
        {"decision": "release", "password": TEST_PASSWORD, "expires_at": expiry().isoformat()},
    )

    assert response.status_code == status
    assert QaDisposition.objects.count() == 0


# ---------- in the browser ----------


def test_in_the_browser_qa_signs_an_exception_and_the_physician_acknowledges_it(
    scene, live_server, page
):
    from playwright.sync_api import expect

    ready_for_disposition(scene, **{K.VIABILITY: FAILING_VIABILITY})
    url = f"{live_server.url}/manufacturing/batches/{scene.batch.public_id}/release/"

    def sign_in(user) -> None:
        page.context.clear_cookies()
        shared_sign_in(page, live_server.url, user)

    # Given QA on the release card, where the failed test is named
    sign_in(scene.team.qa_reviewer)
    page.goto(url)
    expect(page.locator(".rl-sign .rl-warn")).to_contain_text("Failed: Viability")
    # When QA signs a release under exception with a reason, an expiry and the password
    later = expiry().astimezone(zoneinfo.ZoneInfo("America/New_York"))
    page.check("input[name='decision'][value='release_exception']")
    page.fill("input[name='expires_at']", f"{later:%Y-%m-%dT%H:%M}")
    page.fill("textarea[name='reason']", "Viability 61 %; no alternative product.")
    page.fill("input[name='password']", TEST_PASSWORD)
    page.click("text=Sign disposition as")
    # Then the card says the product is not released until the physician signs
    expect(page.locator("#batch-release .badge-warning").first).to_have_text(
        "Awaiting physician's acknowledgement — not released"
    )

    # When the treating physician signs the acknowledgement on the same card
    sign_in(scene.team.physician)
    page.goto(url)
    page.fill("#acknowledgement input[name='password']", TEST_PASSWORD)
    page.click("#acknowledgement button[type='submit']")
    # Then the product is released under exception, and no page showed the patient
    expect(page.locator("#batch-release .card-header .badge")).to_have_text(
        "Released under exception"
    )
    for value in IDENTITY:
        assert value not in page.content()
    assert fresh(scene.batch).status == BatchStatus.RELEASED_EXCEPTION


# ---------- a rejection by the technologist, before release testing ----------


def test_the_technologists_rejection_on_the_batch_page_reaches_the_physician(scene):
    # Given the batch in the REP, seen by the facility's technologist
    client = Client()
    client.force_login(scene.team.manufacturing_tech)

    # When they reject it on the batch page with a reason
    response = client.post(
        f"/manufacturing/batches/{scene.batch.public_id}/advance/",
        {"to_status": BatchStatus.REJECTED, "reason": "Growth arrested on REP day 7."},
    )

    # Then the batch is rejected and the journey's physician is asked to choose, once
    assert response.status_code in (200, 302)
    assert fresh(scene.batch).status == BatchStatus.REJECTED
    assert open_tasks(scene) == [("physician", REJECTED_TASK)]
    assert journey_of(scene).stage == Stage.AT_MANUFACTURING


def rejected_over_api(scene: Scene, reason: str):
    """The technologist's rejection of the scene's batch through the batch API."""
    client = Client()
    client.force_login(scene.team.manufacturing_tech)
    return client.post(
        f"{API}/{scene.batch.public_id}/advance",
        data=json.dumps({"to_status": "rejected", "reason": reason}),
        content_type="application/json",
    )


def test_the_technologists_rejection_through_the_api_reaches_the_physician(scene):
    response = rejected_over_api(scene, "Mycoplasma suspected at harvest.")

    assert response.status_code == 200
    assert open_tasks(scene) == [("physician", REJECTED_TASK)]


def journey_task_events(scene: Scene) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action="journey.task.create", subject_id=str(scene.journey.public_id)
        )
    )


def test_a_rejection_reaches_the_journey_once_through_its_door(scene):
    # Given the batch in the REP, when the technologist rejects it through the batch API
    response = rejected_over_api(scene, "Growth arrested on REP day 7.")

    # Then the physician's task is created once, with one journey-side audit event, and the
    # batch's own trail holds the rejection once
    assert response.status_code == 200
    tasks = Task.objects.filter(journey=scene.journey, title=REJECTED_TASK)
    assert [(t.role, t.status) for t in tasks] == [("physician", TaskStatus.OPEN)]
    assert [e.object_id for e in journey_task_events(scene)] == [str(tasks[0].public_id)]
    rejections = AuditEvent.objects.filter(
        action="manufacturing.batch.advance", object_id=str(scene.batch.public_id)
    )
    assert [e.after["status"] for e in rejections].count(BatchStatus.REJECTED) == 1


def test_qa_s_signed_rejection_reaches_the_journey_once(scene):
    ready_for_disposition(scene, **{K.STERILITY: {"result_text": "Growth: S. aureus"}})

    dispose(scene, Disposition.REJECT, reason="Sterility failed: S. aureus.")

    tasks = Task.objects.filter(journey=scene.journey, title=REJECTED_TASK)
    assert len(tasks) == 1
    assert [e.object_id for e in journey_task_events(scene)] == [str(tasks[0].public_id)]


def test_a_refused_rejection_asks_nobody(scene):
    # Given a rejection without a reason
    before = counts()
    response = rejected_over_api(scene, "")

    # Then it is refused and no task is created
    assert response.status_code == 422
    assert counts() == before
    assert fresh(scene.batch).status == BatchStatus.REP


def test_a_batch_stopped_at_the_center_s_request_asks_no_re_manufacture_decision(scene):
    # Given the batch in the REP of a journey the center has not yet closed
    tasks = Task.objects.count()
    client = Client()
    client.force_login(scene.team.manufacturing_tech)

    # When the technologist stops it because the center withdrew the patient
    response = client.post(
        f"/manufacturing/batches/{scene.batch.public_id}/advance/",
        {"to_status": BatchStatus.STOPPED, "reason": "Dr Raman asked by phone on 3 Dec."},
    )

    # Then the batch is stopped (not rejected) and nobody is asked to choose re-manufacture
    assert response.status_code == 302
    assert fresh(scene.batch).status == BatchStatus.STOPPED
    assert Task.objects.count() == tasks
    assert open_tasks(scene) == []


def test_rejecting_the_batch_of_a_withdrawn_journey_creates_no_task(scene):
    # Given the journey withdrawn while its product was in manufacturing
    services.advance(
        journey_of(scene),
        Stage.WITHDRAWN,
        actor=scene.team.physician,
        reason="Disease progression.",
        withdrawal_reason=WithdrawalReason.DISEASE_PROGRESSION,
    )
    tasks = Task.objects.count()

    # When the facility stops the batch
    rejected_over_api(scene, "Stopped: the center withdrew.")

    # Then the batch is closed and the closed journey gets no task
    assert fresh(scene.batch).status == BatchStatus.REJECTED
    assert Task.objects.count() == tasks
