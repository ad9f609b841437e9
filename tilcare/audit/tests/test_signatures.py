"""Electronic signatures (21 CFR 11.50, 11.70): who, when, what it means, bound to the content.

Signed here: the physician's eligibility checklist, through the journey's services.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from tilcare.audit.hashing import content_hash
from tilcare.audit.models import AuditEvent, Signature
from tilcare.audit.selectors import list_signatures_for, verify_chain
from tilcare.audit.services import sign_record, signature_is_valid
from tilcare.core.errors import InvalidInput
from tilcare.journey import services
from tilcare.journey.guards import ELIGIBILITY_MEANING
from tilcare.journey.models import ELIGIBILITY_CRITERIA, EligibilityChecklist
from tilcare.journey.tests.factories import eligible_checklist_data, open_journey_for
from tilcare.patients.tests.factories import TEST_PASSWORD, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def checklist(team) -> EligibilityChecklist:
    journey = open_journey_for(PatientFactory(center=team.center), team.navigator)
    return services.save_eligibility(journey, actor=team.navigator, data=eligible_checklist_data())


def sign(team, checklist) -> Signature:
    return services.sign_eligibility(
        checklist.journey, actor=team.physician, password=TEST_PASSWORD
    )


def test_a_signature_records_printed_name_with_credentials_meaning_time_and_hash(team, checklist):
    # Given a physician "Alex Tester<n>, MD"
    physician = team.physician
    before = timezone.now()

    # When they sign the eligibility checklist
    signature = sign(team, checklist)

    # Then the signature carries their printed name with credentials, the meaning, the time and
    # the hash of exactly the content signed
    stored = Signature.objects.get()
    assert stored == signature
    assert stored.printed_name == f"Alex {physician.last_name}, MD"
    assert stored.signer == physician
    assert stored.meaning == "Eligibility confirmed by treating physician"
    assert before <= stored.signed_at <= timezone.now()
    assert stored.record_hash == content_hash(checklist.signed_content())
    assert (stored.object_type, stored.object_id) == (
        "journey.eligibilitychecklist",
        str(checklist.public_id),
    )


def test_the_signed_content_is_every_criterion_ecog_notes_and_the_journey(checklist):
    content = checklist.signed_content()

    assert content == {
        **{field: True for field, _ in ELIGIBILITY_CRITERIA},
        "ecog": 1,
        "notes": "Meets protocol criteria.",
        "journey": str(checklist.journey.public_id),
    }


def test_the_printed_name_is_kept_when_the_account_is_renamed(team, checklist):
    signature = sign(team, checklist)
    printed = signature.printed_name

    team.physician.last_name = "Renamed"
    team.physician.credentials = "MD PhD"
    team.physician.save()

    assert Signature.objects.get().printed_name == printed


def test_the_signatures_audit_event_holds_meaning_hash_and_content(team, checklist):
    signature = sign(team, checklist)

    event = signature.audit_event
    assert event == AuditEvent.objects.latest("seq")
    assert (event.action, event.object_id, event.subject_id) == (
        "signature.sign",
        str(checklist.public_id),
        str(checklist.journey.public_id),
    )
    assert (event.actor, event.actor_label) == (team.physician, signature.printed_name)
    assert event.after == {
        "meaning": ELIGIBILITY_MEANING,
        "record_hash": signature.record_hash,
        "content": checklist.signed_content(),
    }
    assert event.occurred_at == signature.signed_at
    assert verify_chain().ok


def test_a_signature_is_valid_while_the_checklist_is_unchanged(team, checklist):
    signature = sign(team, checklist)

    # Saving the same values again changes nothing that was signed.
    services.save_eligibility(
        checklist.journey, actor=team.navigator, data=eligible_checklist_data()
    )

    assert signature_is_valid(signature, EligibilityChecklist.objects.get(pk=checklist.pk)) is True


CHANGES = [
    *[({field: False}, field) for field, _ in ELIGIBILITY_CRITERIA],
    ({"ecog": 2}, "ecog"),
    ({"notes": "Borderline LVEF; cardiology to review."}, "notes"),
]


@pytest.mark.parametrize(("change", "case"), CHANGES, ids=[case for _, case in CHANGES])
def test_any_change_to_the_signed_content_invalidates_the_signature(team, checklist, change, case):
    # Given a signed checklist
    signature = sign(team, checklist)

    # When any signed value changes
    services.amend_eligibility(
        checklist.journey, actor=team.navigator, data=change, reason="New clinic findings"
    )

    # Then the signature no longer validates, and it is kept (never deleted)
    changed = EligibilityChecklist.objects.get(pk=checklist.pk)
    assert signature_is_valid(signature, changed) is False
    assert list(list_signatures_for("journey.eligibilitychecklist", str(checklist.public_id))) == [
        signature
    ]


def test_a_wrong_password_writes_no_signature_and_no_event(team, checklist):
    events_before = AuditEvent.objects.count()

    with pytest.raises(InvalidInput) as refused:
        sign_record(checklist, actor=team.physician, password="not-my-password", meaning="Review")

    assert refused.value.errors == {
        "password": ["The password is not correct. Enter your own password to sign."]
    }
    assert Signature.objects.count() == 0
    assert AuditEvent.objects.count() == events_before


def test_someone_elses_password_does_not_sign(team, checklist):
    # The password re-asked is the signer's own (21 CFR 11.200(a)): another user's does not do.
    colleague = UserFactory(role="physician", organization=team.center)
    colleague.set_password("colleagues-password-42")
    colleague.save()

    with pytest.raises(InvalidInput):
        sign_record(
            checklist, actor=team.physician, password="colleagues-password-42", meaning="Review"
        )

    assert Signature.objects.count() == 0


def test_printed_name_without_credentials_is_the_full_name():
    user = UserFactory.build(first_name="Ana", last_name="Ortiz", credentials="")

    assert user.printed_name == "Ana Ortiz"


def test_printed_name_of_a_user_without_names_is_the_username():
    user = UserFactory.build(username="aortiz", first_name="", last_name="", credentials="RN")

    assert user.printed_name == "aortiz, RN"


def test_a_second_signature_is_a_new_row_bound_to_the_new_content(team, checklist):
    # Given a signature, then a change to the checklist
    first = sign(team, checklist)
    services.amend_eligibility(
        checklist.journey, actor=team.navigator, data={"ecog": 0}, reason="ECOG 0 at clinic visit"
    )
    changed = EligibilityChecklist.objects.get(pk=checklist.pk)

    # When the physician signs again
    second = sign(team, changed)

    # Then both signatures are kept; only the new one matches the current content
    assert list(Signature.objects.order_by("id")) == [first, second]
    assert (signature_is_valid(first, changed), signature_is_valid(second, changed)) == (
        False,
        True,
    )
