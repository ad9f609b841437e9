"""A blank or partial form never wipes clinical state; a change to what is settled is explicit.

- Plan: a field missing from the request is refused by name (clearing means sending it empty);
  once the tissue is on its way the facility changes only with "Change the facility" and a reason
  (audited with it), and once the product exists not at all.
- Eligibility: a signed checklist changes only by an amendment with a reason, which voids the
  signature (the row stays) until a physician signs again.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.errors import InvalidInput, PermissionDenied, TransitionBlocked
from tilcare.core.tests.clients import client_for
from tilcare.journey import guards, services
from tilcare.journey.choices import SIGN_AGAIN_TASK, FacilityChange, Stage, TaskStatus
from tilcare.journey.models import ELIGIBILITY_CRITERIA, EligibilityChecklist, Journey, Task
from tilcare.journey.tests.factories import (
    PLANNED_INFUSION_ON,
    PLANNED_RESECTION_ON,
    eligible_checklist_data,
    journey_at,
    make_team,
    satisfy,
)
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    FacilityFactory,
)

pytestmark = pytest.mark.django_db

CRITERIA = tuple(field for field, _ in ELIGIBILITY_CRITERIA)
MISSING = "{label} was not sent with the form."
SUMMARY = (
    "Not sent with the form, so nothing was saved: {labels}. Reload the page and submit the "
    "whole form (to clear a value, empty its field)."
)


@pytest.fixture
def other_facility():
    return FacilityFactory(name="Lakeshore Cell Therapy")


def url(name: str, journey: Journey) -> str:
    return reverse(f"journey:{name}", kwargs={"public_id": journey.public_id})


def body(response) -> str:
    return response.content.decode()


def fresh(journey: Journey) -> Journey:
    return Journey.objects.get(pk=journey.pk)


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


def plan_of(journey: Journey) -> tuple:
    journey = fresh(journey)
    return (
        journey.planned_resection_on,
        journey.planned_infusion_on,
        journey.manufacturing_facility_id,
    )


def plan_without_infusion(team) -> dict[str, str]:
    """The plan form with the resection date and the team's facility, the infusion date empty."""
    return {
        "plan-planned_resection_on": PLANNED_RESECTION_ON.isoformat(),
        "plan-planned_infusion_on": "",
        "plan-manufacturing_facility": str(team.facility.pk),
    }


def planned(team, stage: Stage) -> Journey:
    """A journey at `stage` with its facility chosen and both dates planned."""
    journey = journey_at(team, stage)
    journey = satisfy(journey, "facility", users=team)
    if journey.planned_infusion_on is None:
        services.plan_journey(
            journey, actor=team.navigator, changes={"planned_infusion_on": PLANNED_INFUSION_ON}
        )
    return fresh(journey)


# ---------- Plan: a blank form ----------


def test_a_blank_plan_post_mid_manufacture_keeps_the_facility_and_both_dates(team):
    # Given a journey at manufacturing with its facility and both dates planned
    journey = planned(team, Stage.AT_MANUFACTURING)
    before = plan_of(journey)
    events_before = AuditEvent.objects.count()

    # When the plan form is posted with nothing but the CSRF token
    response = client_for(team.navigator).post(url("journey-plan", journey), {})

    # Then each missing field is named, and the facility and dates are as they were
    assert response.status_code == 200
    page = body(response)
    assert SUMMARY.format(labels="Planned resection date; Planned infusion date (Day 0)") in page
    assert MISSING.format(label="Planned resection date") in page
    assert MISSING.format(label="Planned infusion date (Day 0)") in page
    # And the form shown again holds what is recorded, so saving it as shown clears nothing
    assert f'name="plan-planned_resection_on" value="{PLANNED_RESECTION_ON.isoformat()}"' in page
    assert f'name="plan-planned_infusion_on" value="{PLANNED_INFUSION_ON.isoformat()}"' in page
    assert (
        plan_of(journey) == before == (PLANNED_RESECTION_ON, PLANNED_INFUSION_ON, team.facility.pk)
    )
    assert AuditEvent.objects.count() == events_before


def test_a_blank_plan_post_before_resection_names_every_missing_field(team):
    # Given a journey with its resection scheduled, facility chosen and infusion planned
    journey = planned(team, Stage.RESECTION_SCHEDULED)
    before = plan_of(journey)

    # When the plan form is posted with only the facility
    response = client_for(team.navigator).post(
        url("journey-plan", journey), {"plan-manufacturing_facility": str(team.facility.pk)}
    )

    # Then both dates are named as missing and nothing changed
    page = body(response)
    assert MISSING.format(label="Planned resection date") in page
    assert MISSING.format(label="Planned infusion date (Day 0)") in page
    assert MISSING.format(label="Manufacturing facility") not in page
    assert plan_of(journey) == before


def test_clearing_a_planned_date_is_an_explicit_empty_field(team):
    # Given a journey with its resection scheduled, facility chosen and infusion planned
    journey = planned(team, Stage.RESECTION_SCHEDULED)

    # When the infusion date is sent empty, the other fields as they are
    response = client_for(team.navigator).post(
        url("journey-plan", journey), plan_without_infusion(team)
    )

    # Then only the infusion date is cleared
    assert response.status_code == 302
    assert plan_of(journey) == (PLANNED_RESECTION_ON, None, team.facility.pk)


def test_a_planned_date_that_was_carried_out_cannot_be_cleared(team):
    # Given a journey whose resection was performed
    journey = planned(team, Stage.TISSUE_PROCURED)
    events_before = AuditEvent.objects.count()

    # When the planned resection date is cleared
    with pytest.raises(InvalidInput) as refused:
        services.plan_journey(journey, actor=team.navigator, changes={"planned_resection_on": None})

    # Then it is refused, naming the field, and nothing is written
    assert refused.value.errors == {
        "planned_resection_on": [
            "Planned resection date: it was carried out, so its date stays on record and cannot "
            "be cleared."
        ]
    }
    assert fresh(journey).planned_resection_on == PLANNED_RESECTION_ON
    assert AuditEvent.objects.count() == events_before


# ---------- Plan: the facility once manufacturing has started ----------


@pytest.mark.parametrize(
    ("stage", "rule"),
    [
        (Stage.RESECTION_SCHEDULED, FacilityChange.FREE),
        (Stage.TISSUE_PROCURED, FacilityChange.WITH_REASON),
        (Stage.AT_MANUFACTURING, FacilityChange.WITH_REASON),
        (Stage.PRODUCT_RELEASED, FacilityChange.FIXED),
        (Stage.INFUSION, FacilityChange.FIXED),
    ],
)
def test_the_stage_decides_how_the_facility_may_change(team, stage, rule):
    journey = planned(team, stage) if stage != Stage.INFUSION else journey_at(team, stage)

    assert guards.facility_change(journey) == rule


def test_the_plan_cannot_change_the_facility_mid_manufacture(team, other_facility):
    # Given a journey at manufacturing
    journey = planned(team, Stage.AT_MANUFACTURING)
    events_before = AuditEvent.objects.count()

    # When the plan is saved with another facility
    with pytest.raises(InvalidInput) as refused:
        services.plan_journey(
            journey, actor=team.navigator, changes={"manufacturing_facility": other_facility}
        )

    # Then it is refused with the way to do it, and nothing is written
    assert refused.value.errors == {
        "manufacturing_facility": [
            f"Manufacturing facility: the tissue is on its way to or in culture at "
            f"{team.facility.name}. Another facility is chosen with “Change the facility”, which "
            "asks for a reason."
        ]
    }
    assert fresh(journey).manufacturing_facility_id == team.facility.pk
    assert AuditEvent.objects.count() == events_before


def test_a_facility_change_mid_manufacture_without_a_reason_is_refused(team, other_facility):
    # Given a journey at manufacturing
    journey = planned(team, Stage.AT_MANUFACTURING)
    events_before = AuditEvent.objects.count()

    # When the navigator changes the facility without a reason
    response = client_for(team.navigator).post(
        url("journey-facility-change", journey),
        {"facility-manufacturing_facility": str(other_facility.pk), "facility-reason": "  "},
    )

    # Then the reason is asked for and nothing changed
    assert response.status_code == 200
    assert "Reason is required: say why the manufacturing facility changes." in body(response)
    assert fresh(journey).manufacturing_facility_id == team.facility.pk
    assert AuditEvent.objects.count() == events_before


def test_a_facility_change_mid_manufacture_with_a_reason_is_audited_with_it(team, other_facility):
    # Given a journey at manufacturing
    journey = planned(team, Stage.AT_MANUFACTURING)
    reason = "Clean-room closed for requalification; culture transferred under QA agreement 14."

    # When the navigator changes the facility with a reason
    response = client_for(team.navigator).post(
        url("journey-facility-change", journey),
        {"facility-manufacturing_facility": str(other_facility.pk), "facility-reason": reason},
    )

    # Then the journey is at the new facility, and the audit event carries the reason
    assert response.status_code == 302
    assert fresh(journey).manufacturing_facility_id == other_facility.pk
    [event] = events("journey.facility.change")
    assert event.reason == reason
    assert event.actor == team.navigator
    assert event.before["manufacturing_facility"] == str(team.facility.public_id)
    assert event.after["manufacturing_facility"] == str(other_facility.public_id)
    page = body(client_for(team.navigator).get(url("journey-detail", journey)))
    assert "Manufacturing facility changed" in page
    assert f"Reason: {reason}" in page


def test_the_service_refuses_a_facility_change_without_a_reason(team, other_facility):
    journey = planned(team, Stage.TISSUE_PROCURED)

    with pytest.raises(InvalidInput) as refused:
        services.change_manufacturing_facility(
            journey, actor=team.physician, facility=other_facility, reason=""
        )

    assert refused.value.errors == {
        "reason": ["Reason is required: say why the manufacturing facility changes."]
    }
    assert fresh(journey).manufacturing_facility_id == team.facility.pk


def test_once_the_product_is_released_the_facility_stays_on_record(team, other_facility):
    # Given a journey whose product was released
    journey = planned(team, Stage.PRODUCT_RELEASED)
    events_before = AuditEvent.objects.count()

    # When the facility is changed, even with a reason
    with pytest.raises(InvalidInput) as refused:
        services.change_manufacturing_facility(
            journey, actor=team.navigator, facility=other_facility, reason="Wrong facility"
        )

    # Then it is refused and nothing is written; the page offers no change
    assert refused.value.errors == {
        "manufacturing_facility": [
            f"Manufacturing facility: the product of this attempt was made by "
            f"{team.facility.name}, which stays on record. Another facility can be chosen only "
            "for a new manufacturing attempt."
        ]
    }
    assert fresh(journey).manufacturing_facility_id == team.facility.pk
    assert AuditEvent.objects.count() == events_before
    page = body(client_for(team.navigator).get(url("journey-detail", journey)))
    assert "Change the facility…" not in page
    assert 'name="plan-manufacturing_facility"' not in page


@pytest.mark.parametrize("role", ["surgeon", "nurse", "financial_coordinator"])
def test_roles_that_do_not_coordinate_manufacturing_cannot_move_it(team, other_facility, role):
    journey = planned(team, Stage.AT_MANUFACTURING)
    events_before = AuditEvent.objects.count()

    response = client_for(team.by_role(role)).post(
        url("journey-facility-change", journey),
        {"facility-manufacturing_facility": str(other_facility.pk), "facility-reason": "Moved"},
    )

    assert response.status_code == 403
    assert fresh(journey).manufacturing_facility_id == team.facility.pk
    assert AuditEvent.objects.count() == events_before


# ---------- Eligibility ----------


def checklist_post(prefix: str = "eligibility", **overrides: str) -> dict[str, str]:
    """The checklist as the page sends it: every criterion, ticked ones as "on"."""
    data = {f"{prefix}-{field}": "on" for field in CRITERIA}
    data.update({f"{prefix}-ecog": "1", f"{prefix}-notes": "Meets protocol criteria."})
    data.update({f"{prefix}-{key}": value for key, value in overrides.items()})
    return data


@pytest.fixture
def signed(team):
    """A journey at screening whose complete checklist the physician signed."""
    journey = journey_at(team, Stage.SCREENING)
    services.save_eligibility(journey, actor=team.physician, data=eligible_checklist_data())
    signature = services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)
    return journey, signature


def criteria_of(journey: Journey) -> dict[str, object]:
    checklist = EligibilityChecklist.objects.get(journey=journey)
    return {name: getattr(checklist, name) for name in (*CRITERIA, "ecog", "notes")}


def test_a_blank_post_keeps_a_signed_checklist_signed_and_all_met(team, signed):
    # Given a signed checklist with every criterion met
    journey, _ = signed
    events_before = AuditEvent.objects.count()

    # When the checklist form is posted empty
    response = client_for(team.navigator).post(url("eligibility-save", journey), {})

    # Then each missing field is named, and the checklist is still signed and all met
    assert response.status_code == 200
    page = body(response)
    labels = [label for _, label in ELIGIBILITY_CRITERIA] + ["ECOG performance status", "Notes"]
    assert SUMMARY.format(labels="; ".join(labels)) in page
    assert "Nothing was saved; the signed checklist below is unchanged." in page
    assert criteria_of(journey) == eligible_checklist_data()
    assert guards.valid_eligibility_signature(journey) == (True, "")
    assert AuditEvent.objects.count() == events_before


def test_a_partial_post_is_refused_even_before_signing(team):
    # Given an unsigned checklist with every criterion met
    journey = journey_at(team, Stage.SCREENING)
    services.save_eligibility(journey, actor=team.physician, data=eligible_checklist_data())
    data = checklist_post()
    del data["eligibility-cardiac_ok"]

    # When the form is posted without one criterion
    response = client_for(team.physician).post(url("eligibility-save", journey), data)

    # Then that criterion is named and nothing changed
    assert response.status_code == 200
    assert MISSING.format(label=dict(ELIGIBILITY_CRITERIA)["cardiac_ok"]) in body(response)
    assert criteria_of(journey) == eligible_checklist_data()


def test_an_unticked_criterion_is_sent_as_not_met(team):
    # Given an unsigned checklist with every criterion met
    journey = journey_at(team, Stage.SCREENING)
    services.save_eligibility(journey, actor=team.physician, data=eligible_checklist_data())

    # When the page sends one box unticked (its hidden "false" only)
    response = client_for(team.physician).post(
        url("eligibility-save", journey), checklist_post(renal_ok="false")
    )

    # Then that criterion is saved as not met
    assert response.status_code == 302
    assert criteria_of(journey)["renal_ok"] is False


def test_the_page_sends_every_criterion_even_when_unticked(team):
    journey = journey_at(team, Stage.SCREENING)

    page = body(client_for(team.physician).get(url("journey-detail", journey)))

    for field in CRITERIA:
        assert f'<input type="hidden" name="eligibility-{field}" value="false">' in page


def test_a_complete_change_to_a_signed_checklist_without_amending_is_refused(team, signed):
    journey, _ = signed

    response = client_for(team.physician).post(
        url("eligibility-save", journey), checklist_post(ecog="2")
    )

    assert response.status_code == 200
    assert services.SIGNED_CHECKLIST_MESSAGE in body(response)
    assert criteria_of(journey)["ecog"] == 1
    assert guards.valid_eligibility_signature(journey) == (True, "")


def test_an_amendment_without_a_reason_is_refused(team, signed):
    journey, _ = signed
    events_before = AuditEvent.objects.count()

    response = client_for(team.physician).post(
        url("eligibility-amend", journey), checklist_post("amend", fit_for_il2="false")
    )

    assert response.status_code == 200
    assert "Reason is required: say why the signed checklist changes." in body(response)
    assert criteria_of(journey) == eligible_checklist_data()
    assert guards.valid_eligibility_signature(journey) == (True, "")
    assert AuditEvent.objects.count() == events_before


def test_an_amendment_with_a_reason_voids_the_signature_and_is_audited(team, signed):
    # Given a signed checklist
    journey, signature = signed
    reason = "Echo 2 Dec: LVEF 38%; cardiac function no longer adequate."

    # When the navigator amends it with a reason
    response = client_for(team.navigator).post(
        url("eligibility-amend", journey),
        checklist_post("amend", cardiac_ok="false", reason=reason),
    )

    # Then the checklist changed, the signature row stays but is voided, by whom and why
    assert response.status_code == 302
    assert criteria_of(journey)["cardiac_ok"] is False
    checklist = EligibilityChecklist.objects.get(journey=journey)
    assert list(Signature.objects.all()) == [signature]
    assert checklist.voided_signature == signature
    assert checklist.signature_voided_by == team.navigator
    assert checklist.signature_void_reason == reason
    assert guards.valid_eligibility_signature(journey) == (
        False,
        "The eligibility checklist was amended after it was signed; a physician must review it "
        "and sign it again.",
    )
    # And the audit event carries the reason and the change
    [event] = events("journey.eligibility.amend")
    assert (event.actor, event.reason) == (team.navigator, reason)
    assert (event.before["cardiac_ok"], event.after["cardiac_ok"]) == (True, False)
    # And the physicians are asked to sign again
    task = Task.objects.get(journey=journey, title=SIGN_AGAIN_TASK)
    assert (task.role, task.status) == ("physician", TaskStatus.OPEN)
    # And the page says who voided the signature and why
    page = body(client_for(team.physician).get(url("journey-detail", journey)))
    assert f"Signature voided by {team.navigator.printed_name} on " in page
    assert f": {reason}</strong>" in page
    assert f"It was signed by {signature.printed_name} on " in page
    assert "Signature voided</span>" in page


def test_an_amendment_back_to_the_signed_content_does_not_revive_the_signature(team, signed):
    # Given a signed checklist amended (ECOG 1 -> 2), then saved back to what was signed
    journey, _ = signed
    services.amend_eligibility(
        journey, actor=team.physician, data={"ecog": 2}, reason="ECOG 2 at clinic visit"
    )
    services.save_eligibility(journey, actor=team.physician, data={"ecog": 1})

    # Then the old signature stays void: only a new signature counts
    assert guards.valid_eligibility_signature(journey)[0] is False

    # When the physician signs again
    services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)

    # Then the checklist is validly signed, with both signatures kept
    assert guards.valid_eligibility_signature(journey) == (True, "")
    assert Signature.objects.count() == 2


def test_an_amended_checklist_blocks_scheduling_the_resection_until_signed_again(team, signed):
    # Given a signed checklist, everything else met for scheduling the resection
    journey, _ = signed
    journey = satisfy(journey, "consent_til", users=team)
    journey = services.advance(journey, Stage.FINANCIAL_CLEARANCE, actor=team.navigator)
    for code in ("financial_clearance", "consent_tissue", "resection_planned"):
        journey = satisfy(journey, code, users=team)

    # When the checklist is amended
    services.amend_eligibility(
        journey, actor=team.physician, data={"notes": "Brain MRI pending."}, reason="New finding"
    )

    # Then the resection cannot be scheduled until a physician signs again
    with pytest.raises(TransitionBlocked) as blocked:
        services.advance(journey, Stage.RESECTION_SCHEDULED, actor=team.navigator)
    assert blocked.value.reasons == [
        "The eligibility checklist was amended after it was signed; a physician must review it "
        "and sign it again."
    ]
    services.sign_eligibility(journey, actor=team.physician, password=TEST_PASSWORD)
    moved = services.advance(journey, Stage.RESECTION_SCHEDULED, actor=team.navigator)
    assert moved.stage == Stage.RESECTION_SCHEDULED


def test_a_checklist_changed_outside_the_services_loses_its_signature(team, signed):
    # Given a signed checklist whose row is changed without an amendment (not through tilcare)
    journey, _ = signed
    EligibilityChecklist.objects.filter(journey=journey).update(ecog=3)

    # Then the signature no longer validates: it is bound to what was signed
    assert guards.valid_eligibility_signature(journey) == (
        False,
        "The eligibility checklist changed after it was signed; a physician must sign it again.",
    )


def test_an_amendment_that_changes_nothing_is_refused(team, signed):
    journey, _ = signed

    with pytest.raises(InvalidInput) as refused:
        services.amend_eligibility(
            journey, actor=team.physician, data=eligible_checklist_data(), reason="Review"
        )

    assert refused.value.errors == {
        "__all__": [
            "Nothing differs from the signed checklist: change a criterion, ECOG or the notes, "
            "or leave the checklist as it was signed."
        ]
    }
    assert guards.valid_eligibility_signature(journey) == (True, "")


def test_a_months_later_amendment_after_resection_voids_and_is_audited(team):
    # Given a journey at manufacturing (its checklist signed before the resection)
    journey = planned(team, Stage.AT_MANUFACTURING)
    events_before = AuditEvent.objects.count()

    # When a blank checklist is posted, then an amendment without a reason
    blank = client_for(team.navigator).post(url("eligibility-save", journey), {})
    with pytest.raises(InvalidInput):
        services.amend_eligibility(
            journey, actor=team.navigator, data={"fit_for_il2": False}, reason=""
        )

    # Then nothing changed: still signed, every criterion met
    assert blank.status_code == 200
    assert criteria_of(journey) == eligible_checklist_data()
    assert guards.valid_eligibility_signature(journey) == (True, "")
    assert AuditEvent.objects.count() == events_before


def test_a_physician_outside_the_center_cannot_amend(team, signed):
    journey, _ = signed
    elsewhere = make_team(CenterFactory(isbt_fin="W9999"))

    with pytest.raises(PermissionDenied):
        services.amend_eligibility(
            journey, actor=elsewhere.physician, data={"ecog": 2}, reason="ECOG 2"
        )

    assert criteria_of(journey) == eligible_checklist_data()


def test_the_signed_checklist_offers_an_amendment_not_a_plain_save(team, signed):
    journey, _ = signed

    page = body(client_for(team.physician).get(url("journey-detail", journey)))

    assert "Amend the signed checklist…" in page
    assert 'name="amend-reason"' in page
    assert f'action="{url("eligibility-amend", journey)}#eligibility"' in page
    assert f'action="{url("eligibility-save", journey)}#eligibility"' not in page


# ---------- The facility on the journey page ----------


def test_a_journey_without_a_facility_still_chooses_its_first_one_with_the_plan(team):
    # Given a journey whose tissue is procured and no facility chosen yet
    journey = journey_at(team, Stage.TISSUE_PROCURED)
    assert journey.manufacturing_facility_id is None

    # When the plan chooses the facility
    response = client_for(team.navigator).post(
        url("journey-plan", journey), plan_without_infusion(team)
    )

    # Then it is chosen (there was nothing to change)
    assert response.status_code == 302
    assert fresh(journey).manufacturing_facility_id == team.facility.pk


def test_a_facility_change_mid_manufacture_is_offered_only_with_a_reason(team):
    journey = planned(team, Stage.AT_MANUFACTURING)

    page = body(client_for(team.navigator).get(url("journey-detail", journey)))

    assert "Change the facility…" in page
    assert 'name="facility-reason"' in page
    assert 'name="plan-manufacturing_facility"' not in page
    assert "Manufacturing has started: another facility is chosen only with a reason." in page
