"""A center's protocol settings: entered, signed by a pharmacist and a physician, then in force.

Each write leaves its row and its audit events; each refusal leaves nothing (row counts over the
settings, the signatures and the audit trail). The values are a test center's choices
(`factories.LIFILEUCEL_VALUES`), not recommendations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connections

from tilcare.accounts.choices import Role
from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.models import AuditEvent, Signature
from tilcare.audit.services import signature_is_valid
from tilcare.clinical.dosing.lymphodepletion import lymphodepletion_doses
from tilcare.clinical.dosing.regimens import ProtocolRef
from tilcare.clinical.dosing.settings import RenalBand
from tilcare.clinical.units import (
    cm,
    kg,
    m2,
    mg,
    mg_per_dl,
    mg_per_kg,
    mg_per_m2,
    ml_per_min,
    years,
)
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.tests.clients import row_counts
from tilcare.journey.tests.factories import POSTGRES_ONLY, CareTeam, make_team
from tilcare.patients.tests.factories import TEST_PASSWORD, UserFactory
from tilcare.protocols.loader import load_protocol
from tilcare.treatment import policies, selectors
from tilcare.treatment.choices import SIGNING_ROLES, ActivationStatus
from tilcare.treatment.models import ProtocolActivation
from tilcare.treatment.services import activation as activation_services
from tilcare.treatment.services.activation import (
    discard_protocol_settings,
    enter_protocol_settings,
    sign_protocol_settings,
)
from tilcare.treatment.tests.factories import (
    LIFILEUCEL,
    LIFILEUCEL_VALUES,
    NKI,
    NKI_VALUES,
    activate,
)

pytestmark = pytest.mark.django_db

REF = ProtocolRef(*LIFILEUCEL)
PHARMACIST_MEANING = SIGNING_ROLES[Role.PHARMACIST][0]
PHYSICIAN_MEANING = SIGNING_ROLES[Role.PHYSICIAN][0]
REASON_REQUIRED = "Say what changes from the version in force and why (required)."
ALREADY_SIGNED = (
    "Version 1 already carries a signature, so its settings can no longer change. Discard it "
    "(with a reason) and enter the settings again."
)


def written() -> tuple[int, ...]:
    """Everything a protocol-settings service may write."""
    return row_counts(ProtocolActivation, Signature, AuditEvent)


def actions_on(activation: ProtocolActivation) -> list[str]:
    """The audit actions recorded on this version, oldest first."""
    events = AuditEvent.objects.filter(object_id=str(activation.public_id)).order_by("seq")
    return list(events.values_list("action", flat=True))


def enter(team: CareTeam, actor: User | None = None, **changes: object) -> ProtocolActivation:
    """Riverside's lifileucel values with `changes` (a change to None leaves the key out)."""
    reason = str(changes.pop("reason", ""))
    values = {**LIFILEUCEL_VALUES, **changes}
    return enter_protocol_settings(
        team.center,
        protocol_id=LIFILEUCEL[0],
        protocol_version=LIFILEUCEL[1],
        values={key: value for key, value in values.items() if value is not None},
        reason=reason,
        actor=actor or team.pharmacist,
    )


def sign(activation: ProtocolActivation, actor: User, password: str = TEST_PASSWORD) -> Signature:
    return sign_protocol_settings(activation, actor=actor, password=password)


def reload(activation: ProtocolActivation) -> ProtocolActivation:
    return ProtocolActivation.objects.get(pk=activation.pk)


# Entering ---------------------------------------------------------------------------------------


def test_enter_creates_version_1_awaiting_signatures_with_one_event(team: CareTeam) -> None:
    # Given no settings yet at Riverside
    assert written() == (0, 0, 0)
    # When its pharmacist enters the lifileucel settings
    activation = enter(team)
    # Then version 1 awaits both signatures, with the values as entered
    activation = reload(activation)
    assert activation.center == team.center
    assert (activation.protocol_id, activation.protocol_version) == LIFILEUCEL
    assert activation.number == 1
    assert activation.status == ActivationStatus.AWAITING_SIGNATURES
    assert activation.values == LIFILEUCEL_VALUES
    assert activation.entered_by == team.pharmacist
    assert activation.reason == ""
    assert activation.pharmacist_signature is None
    assert activation.physician_signature is None
    assert activation.activated_at is None
    assert activation.ended_at is None
    # And exactly one audit event, by the pharmacist
    assert written() == (1, 0, 1)
    event = AuditEvent.objects.get()
    assert event.action == "treatment.protocol_settings.enter"
    assert event.action == Action.PROTOCOL_SETTINGS_ENTER
    assert event.actor == team.pharmacist
    assert event.object_type == "treatment.protocolactivation"
    assert event.object_id == str(activation.public_id)
    assert event.before_json == ""
    assert selectors.pending_activation(team.center, REF) == activation
    assert selectors.active_activation(team.center, REF) is None


def test_blank_values_are_left_out_and_decimals_stored_as_text(team: CareTeam) -> None:
    activation = enter(
        team,
        mesna_dose=Decimal("60.0"),
        il2_interval_min_hours="",
        cyclophosphamide_adjusted_weight_factor=None,
    )
    assert reload(activation).values == {**LIFILEUCEL_VALUES, "mesna_dose": "60.0"}


def test_entering_again_before_any_signature_changes_the_same_version(
    team: CareTeam, entered: ProtocolActivation
) -> None:
    # When the physician changes the mesna dose before anyone has signed
    changed = enter(team, actor=team.physician, mesna_dose="50")
    # Then the same version 1 holds the new value, entered by the physician
    assert changed.pk == entered.pk
    activation = reload(entered)
    assert activation.number == 1
    assert activation.values == {**LIFILEUCEL_VALUES, "mesna_dose": "50"}
    assert activation.entered_by == team.physician
    assert activation.status == ActivationStatus.AWAITING_SIGNATURES
    assert written() == (1, 0, 2)
    assert actions_on(entered) == [
        "treatment.protocol_settings.enter",
        "treatment.protocol_settings.change",
    ]
    change = AuditEvent.objects.order_by("seq").last()
    assert change is not None
    assert change.actor == team.physician
    assert '"mesna_dose":"60"' in change.before_json
    assert '"mesna_dose":"50"' in change.after_json


def test_after_one_signature_entering_again_is_refused_and_nothing_changes(
    team: CareTeam, entered: ProtocolActivation
) -> None:
    sign(entered, team.pharmacist)
    before = written()
    with pytest.raises(InvalidInput) as refused:
        enter(team, actor=team.physician, mesna_dose="50")
    assert refused.value.errors == {"__all__": [ALREADY_SIGNED]}
    assert written() == before
    assert reload(entered).values == LIFILEUCEL_VALUES


@pytest.mark.parametrize(
    ("changes", "key", "problem"),
    [
        pytest.param(
            {"mesna_dose": "121"}, "mesna_dose", "above the allowed maximum 120", id="range"
        ),
        pytest.param({"mesna_dose": 60.0}, "mesna_dose", "is a float", id="float"),
        pytest.param({"mesna_dose": True}, "mesna_dose", "True is not a number", id="bool"),
        pytest.param(
            {"bsa_formula": "haycock"}, "bsa_formula", "not one of the options", id="option"
        ),
        pytest.param({"mesna_mg": "60"}, "mesna_mg", "is not a center setting", id="unknown key"),
        pytest.param(
            {"il2_interval_min_hours": "13"},
            "il2_interval_min_hours",
            "above the allowed maximum 12 h",
            id="narrowing widens",
        ),
        pytest.param(
            {"il2_interval_min_hours": "11", "il2_interval_max_hours": "9"},
            "il2_interval_max_hours",
            "the IL-2 interval starts at 11 h but ends at 9 h",
            id="crossed window",
        ),
        pytest.param(
            {
                "fludarabine_renal_bands": [
                    {"crcl_from_ml_per_min": "40", "crcl_to_ml_per_min": "48", "dose": "15"},
                    {"crcl_from_ml_per_min": "50", "crcl_to_ml_per_min": "79", "dose": "20"},
                ]
            },
            "fludarabine_renal_bands",
            "the next band must start at 49 mL/min",
            id="band gap",
        ),
    ],
)
def test_a_wrong_value_is_refused_by_key_and_nothing_is_written(
    team: CareTeam, changes: dict[str, object], key: str, problem: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        enter(team, **changes)
    assert list(refused.value.errors) == [key]
    assert problem in refused.value.errors[key][0]
    assert written() == (0, 0, 0)


def test_a_wrong_value_leaves_the_draft_as_it_was(
    team: CareTeam, entered: ProtocolActivation
) -> None:
    before = written()
    with pytest.raises(InvalidInput):
        enter(team, mesna_dose="0")
    assert written() == before
    assert reload(entered).values == LIFILEUCEL_VALUES


@pytest.mark.parametrize(
    ("protocol", "message"),
    [
        (("no_such_protocol", "2024"), "No protocol “no_such_protocol”; available: "),
        (("lifileucel_us", "2031"), "Protocol “lifileucel_us” has no version “2031”; available: "),
    ],
)
def test_an_unknown_protocol_is_refused(
    team: CareTeam, protocol: tuple[str, str], message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        enter_protocol_settings(
            team.center,
            protocol_id=protocol[0],
            protocol_version=protocol[1],
            values=LIFILEUCEL_VALUES,
            actor=team.pharmacist,
        )
    assert list(refused.value.errors) == ["protocol"]
    assert refused.value.errors["protocol"][0].startswith(message)
    assert written() == (0, 0, 0)


# Signing ----------------------------------------------------------------------------------------


def test_pharmacist_then_physician_put_the_version_in_force(
    team: CareTeam, entered: ProtocolActivation
) -> None:
    # When the pharmacist signs
    first = sign(entered, team.pharmacist)
    # Then the version still awaits the physician
    activation = reload(entered)
    assert activation.status == ActivationStatus.AWAITING_SIGNATURES
    assert activation.pharmacist_signature == first
    assert activation.physician_signature is None
    assert activation.activated_at is None
    assert written() == (1, 1, 3)
    # When the physician signs too
    second = sign(entered, team.physician)
    # Then the version is in force from now
    activation = reload(entered)
    assert activation.status == ActivationStatus.ACTIVE
    assert activation.activated_at is not None
    assert activation.activated_at >= first.signed_at
    assert activation.physician_signature == second
    assert selectors.active_activation(team.center, REF) == activation
    assert selectors.pending_activation(team.center, REF) is None
    # And both signatures carry their meaning, signer and the record's content
    assert written() == (1, 2, 5)
    assert (first.signer, first.meaning) == (team.pharmacist, PHARMACIST_MEANING)
    assert (second.signer, second.meaning) == (team.physician, PHYSICIAN_MEANING)
    assert first.meaning == "Protocol settings verified by pharmacist"
    assert second.meaning == "Protocol settings approved by treating physician"
    assert first.printed_name == team.pharmacist.printed_name
    assert {first.object_id, second.object_id} == {str(activation.public_id)}
    assert signature_is_valid(first, activation)
    assert signature_is_valid(second, activation)
    assert actions_on(activation) == [
        "treatment.protocol_settings.enter",
        "signature.sign",
        "treatment.protocol_settings.sign",
        "signature.sign",
        "treatment.protocol_settings.activate",
    ]


def test_the_physician_may_sign_first(team: CareTeam, entered: ProtocolActivation) -> None:
    sign(entered, team.physician)
    assert reload(entered).status == ActivationStatus.AWAITING_SIGNATURES
    sign(entered, team.pharmacist)
    activation = reload(entered)
    assert activation.status == ActivationStatus.ACTIVE
    assert activation.pharmacist_signature.signer == team.pharmacist  # type: ignore[union-attr]
    assert activation.physician_signature.signer == team.physician  # type: ignore[union-attr]


def test_a_signature_no_longer_matches_content_that_changed(
    team: CareTeam, in_force: ProtocolActivation
) -> None:
    # The signed content is the center, protocol, number, values and reason: a different value
    # (which the services never write) would no longer match what was signed.
    signature = in_force.pharmacist_signature
    assert signature is not None
    in_force.values = {**in_force.values, "mesna_dose": "50"}
    assert not signature_is_valid(signature, in_force)


def test_a_wrong_password_is_refused_and_nothing_is_written(
    team: CareTeam, entered: ProtocolActivation
) -> None:
    before = written()
    with pytest.raises(InvalidInput) as refused:
        sign(entered, team.pharmacist, password="not-my-password")
    assert refused.value.errors == {
        "password": ["The password is not correct. Enter your own password to sign."]
    }
    assert written() == before
    assert reload(entered).pharmacist_signature is None


def test_the_same_role_cannot_sign_twice(team: CareTeam, entered: ProtocolActivation) -> None:
    sign(entered, team.pharmacist)
    before = written()
    another_pharmacist = UserFactory(role=Role.PHARMACIST, organization=team.center)
    for pharmacist in (team.pharmacist, another_pharmacist):
        assert not policies.can_sign_protocol_settings(pharmacist, reload(entered))
        with pytest.raises(PermissionDenied):
            sign(entered, pharmacist)
    assert written() == before
    assert reload(entered).status == ActivationStatus.AWAITING_SIGNATURES


def test_an_active_version_is_not_signed_again(
    team: CareTeam, in_force: ProtocolActivation
) -> None:
    before = written()
    for signer in (team.pharmacist, team.physician):
        with pytest.raises(PermissionDenied):
            sign(in_force, signer)
    assert written() == before


def test_incomplete_settings_are_refused_at_signing_naming_what_is_missing(
    team: CareTeam,
) -> None:
    # Given settings entered without the BSA cap and the mesna dose (allowed while entering)
    activation = enter(team, bsa_cap_m2=None, mesna_dose=None)
    before = written()
    protocol = load_protocol(*LIFILEUCEL)
    cap, mesna = protocol.setting("bsa_cap_m2"), protocol.setting("mesna_dose")
    # When the pharmacist signs, then the signature is refused naming both, in the file's order
    with pytest.raises(InvalidInput) as refused:
        sign(activation, team.pharmacist)
    assert refused.value.errors == {
        "__all__": [
            "These settings must be entered before the version can be signed: "
            f"Set '{cap.label}' (bsa_cap_m2) in the center's protocol settings: "
            f"{cap.why_unconfirmed}; "
            f"Set '{mesna.label}' (mesna_dose) in the center's protocol settings: "
            f"{mesna.why_unconfirmed}"
        ]
    }
    assert written() == before


def test_the_thaw_to_infusion_limit_must_be_entered_before_signing(team: CareTeam) -> None:
    # Given settings entered without the center's thaw-to-infusion limit (no default exists)
    activation = enter(team, thaw_to_infusion_limit_minutes=None)
    before = written()
    thaw = load_protocol(*LIFILEUCEL).setting("thaw_to_infusion_limit_minutes")
    # When the physician signs, then the signature is refused saying what to set and who decides
    with pytest.raises(InvalidInput) as refused:
        sign(activation, team.physician)
    assert refused.value.errors == {
        "__all__": [
            "These settings must be entered before the version can be signed: "
            f"Set '{thaw.label}' (thaw_to_infusion_limit_minutes) in the center's protocol "
            f"settings: {thaw.why_unconfirmed}"
        ]
    }
    assert written() == before


def test_an_adjusted_basis_needs_its_factor_and_the_shared_weight_settings_to_be_signed(
    team: CareTeam,
) -> None:
    activation = enter(team, cyclophosphamide_weight_basis="adjusted")
    with pytest.raises(InvalidInput) as refused:
        sign(activation, team.pharmacist)
    message = refused.value.errors["__all__"][0]
    assert "(cyclophosphamide_adjusted_weight_factor)" in message
    assert "(ideal_weight_below_152_4_cm)" in message
    assert "(dosing_weight_above_actual)" in message
    assert "(crcl_adjusted_weight_factor)" not in message
    # With them entered, the version can be signed
    enter(
        team,
        cyclophosphamide_weight_basis="adjusted",
        cyclophosphamide_adjusted_weight_factor="0.4",
        ideal_weight_below_152_4_cm="use_actual_weight",
        dosing_weight_above_actual="refuse",
    )
    sign(activation, team.pharmacist)
    sign(activation, team.physician)
    assert reload(activation).status == ActivationStatus.ACTIVE


# A new version ----------------------------------------------------------------------------------


def test_a_second_version_needs_a_reason(team: CareTeam, in_force: ProtocolActivation) -> None:
    before = written()
    for reason in ("", "   "):
        with pytest.raises(InvalidInput) as refused:
            enter(team, mesna_dose="50", reason=reason)
        assert refused.value.errors == {"reason": [REASON_REQUIRED]}
    with pytest.raises(InvalidInput) as refused:
        enter(team, mesna_dose="50", reason="x" * 501)
    assert refused.value.errors == {"reason": ["At most 500 characters (got 501)."]}
    assert written() == before


def test_the_first_version_needs_no_reason(team: CareTeam) -> None:
    assert reload(enter(team)).reason == ""


def test_a_second_version_supersedes_the_first_when_both_have_signed(
    team: CareTeam, in_force: ProtocolActivation
) -> None:
    # Given version 1 in force, a version 2 with a reason awaits signatures
    second = enter(team, mesna_dose="50", reason="Mesna at 50 mg/kg after the pharmacy review.")
    assert second.number == 2
    assert reload(second).reason == "Mesna at 50 mg/kg after the pharmacy review."
    # Version 1 stays in force meanwhile
    assert selectors.active_activation(team.center, REF) == in_force
    assert selectors.pending_activation(team.center, REF) == second
    sign(second, team.physician)
    assert reload(in_force).status == ActivationStatus.ACTIVE
    # When the pharmacist signs too
    sign(second, team.pharmacist)
    # Then version 2 is in force and version 1 superseded, with when and why
    first, second = reload(in_force), reload(second)
    assert second.status == ActivationStatus.ACTIVE
    assert first.status == ActivationStatus.SUPERSEDED
    assert first.ended_at is not None and second.activated_at is not None
    assert first.ended_at <= second.activated_at
    assert first.end_reason == "Replaced by version 2."
    assert first.activated_at is not None and first.activated_at < first.ended_at
    assert selectors.active_activation(team.center, REF) == second
    assert [v.number for v in selectors.activation_history(team.center, REF)] == [2, 1]
    assert actions_on(first)[-1] == "treatment.protocol_settings.supersede"
    supersede = AuditEvent.objects.get(action=Action.PROTOCOL_SETTINGS_SUPERSEDE)
    assert supersede.reason == "Replaced by version 2."
    assert supersede.actor == team.pharmacist
    assert actions_on(second)[-1] == "treatment.protocol_settings.activate"
    # And version 1's signatures still match what they signed: its content never changed
    assert signature_is_valid(first.pharmacist_signature, first)  # type: ignore[arg-type]
    assert signature_is_valid(first.physician_signature, first)  # type: ignore[arg-type]


def test_protocols_and_centers_are_counted_apart(
    team: CareTeam, in_force: ProtocolActivation
) -> None:
    # NKI at Riverside, and lifileucel at another center, each start at version 1 without reason
    nki = activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=NKI)
    other = make_team()
    elsewhere = activate(other.center, pharmacist=other.pharmacist, physician=other.physician)
    assert (nki.number, nki.status, nki.values) == (1, ActivationStatus.ACTIVE, NKI_VALUES)
    assert (elsewhere.number, elsewhere.status) == (1, ActivationStatus.ACTIVE)
    assert reload(in_force).status == ActivationStatus.ACTIVE


# Discarding -------------------------------------------------------------------------------------


def test_discard_needs_a_reason(team: CareTeam, entered: ProtocolActivation) -> None:
    before = written()
    with pytest.raises(InvalidInput) as refused:
        discard_protocol_settings(entered, reason=" ", actor=team.pharmacist)
    assert refused.value.errors == {"reason": ["Say why this version is discarded (required)."]}
    assert written() == before
    assert reload(entered).status == ActivationStatus.AWAITING_SIGNATURES


def test_a_discarded_version_stays_readable_and_the_next_is_a_new_number(
    team: CareTeam, entered: ProtocolActivation
) -> None:
    # Given a version with one signature, which can no longer change
    sign(entered, team.pharmacist)
    # When the physician discards it with a reason
    discard_protocol_settings(entered, reason="Wrong mesna dose.", actor=team.physician)
    # Then it is ended, with when and why, and one event says so
    discarded = reload(entered)
    assert discarded.status == ActivationStatus.DISCARDED
    assert discarded.ended_at is not None
    assert discarded.end_reason == "Wrong mesna dose."
    assert actions_on(discarded)[-1] == "treatment.protocol_settings.discard"
    event = AuditEvent.objects.get(action=Action.PROTOCOL_SETTINGS_DISCARD)
    assert (event.actor, event.reason) == (team.physician, "Wrong mesna dose.")
    # And it can be neither signed nor discarded again
    before = written()
    with pytest.raises(PermissionDenied):
        sign(discarded, team.physician)
    with pytest.raises(PermissionDenied):
        discard_protocol_settings(discarded, reason="Again.", actor=team.physician)
    assert written() == before
    # And entering again starts version 2 (no version is in force yet: no reason needed)
    again = enter(team, mesna_dose="50")
    assert again.number == 2
    assert [v.number for v in selectors.activation_history(team.center, REF)] == [2, 1]


@POSTGRES_ONLY
@pytest.mark.django_db(transaction=True)
def test_a_change_being_entered_and_a_discard_at_the_same_moment_are_taken_in_turn(
    team: CareTeam, entered: ProtocolActivation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the physician's change has read the version awaiting signatures and is paused there
    read, resume = threading.Event(), threading.Event()

    def pending_then_pause(*args: object) -> ProtocolActivation | None:
        found = selectors.pending_activation(*args)  # type: ignore[arg-type]
        read.set()
        resume.wait(timeout=30)
        return found

    monkeypatch.setattr(activation_services, "pending_activation", pending_then_pause)
    failures: list[BaseException] = []

    def run(work: Callable[[], object]) -> None:
        try:
            work()
        except BaseException as error:  # surfaced in the main thread below
            failures.append(error)
        finally:
            connections.close_all()

    change = threading.Thread(
        target=run, args=(lambda: enter(team, team.physician, mesna_dose="50"),)
    )
    discard = threading.Thread(
        target=run,
        args=(
            lambda: discard_protocol_settings(
                entered, reason="Wrong mesna dose.", actor=team.pharmacist
            ),
        ),
    )
    # When the pharmacist discards the version meanwhile
    change.start()
    assert read.wait(timeout=30)
    discard.start()
    discard.join(timeout=0.5)
    resume.set()
    for thread in (change, discard):
        thread.join(timeout=60)
    # Then the discard waited for the change: the version was changed, then discarded, and no
    # change lands on a discarded version
    assert failures == []
    assert actions_on(entered) == [
        "treatment.protocol_settings.enter",
        "treatment.protocol_settings.change",
        "treatment.protocol_settings.discard",
    ]
    discarded = reload(entered)
    assert discarded.status == ActivationStatus.DISCARDED
    assert discarded.values == {**LIFILEUCEL_VALUES, "mesna_dose": "50"}


def test_an_active_version_is_not_discarded(team: CareTeam, in_force: ProtocolActivation) -> None:
    before = written()
    with pytest.raises(PermissionDenied):
        discard_protocol_settings(in_force, reason="No longer wanted.", actor=team.pharmacist)
    assert written() == before


# Who may do what --------------------------------------------------------------------------------

ROLES = [
    # (who, may enter / sign / discard, may view)
    ("pharmacist", True, True),
    ("physician", True, True),
    ("nurse", False, True),
    ("navigator", False, True),
    ("surgeon", False, True),
    ("center_admin", False, True),
    ("financial_coordinator", False, True),
    ("social_worker", False, True),
    ("manufacturing_tech", False, False),
    ("qa_reviewer", False, False),
    ("patient", False, False),
]


def user_for(team: CareTeam, who: str) -> User:
    if who == "patient":
        patient: User = UserFactory(role=Role.PATIENT, organization=team.center)
        return patient
    return team.by_role(who)


def test_the_role_table_covers_every_role() -> None:
    assert {who for who, _, _ in ROLES} == set(Role.values)


@pytest.mark.parametrize(("who", "may_write", "may_view"), ROLES)
def test_who_may_view_and_enter(team: CareTeam, who: str, may_write: bool, may_view: bool) -> None:
    user = user_for(team, who)
    assert policies.can_view_protocol_settings(user, team.center) is may_view
    assert policies.can_enter_protocol_settings(user, team.center) is may_write
    if may_write:
        assert enter(team, actor=user).entered_by == user
        assert written() == (1, 0, 1)
    else:
        with pytest.raises(PermissionDenied):
            enter(team, actor=user)
        assert written() == (0, 0, 0)


@pytest.mark.parametrize(("who", "may_write", "may_view"), ROLES)
def test_who_may_sign(
    team: CareTeam, entered: ProtocolActivation, who: str, may_write: bool, may_view: bool
) -> None:
    user = user_for(team, who)
    assert policies.can_sign_protocol_settings(user, entered) is may_write
    before = written()
    if may_write:
        signature = sign(entered, user)
        assert signature.meaning == SIGNING_ROLES[user.role][0]
        assert written() == (before[0], before[1] + 1, before[2] + 2)
    else:
        with pytest.raises(PermissionDenied):
            sign(entered, user)
        assert written() == before


@pytest.mark.parametrize(("who", "may_write", "may_view"), ROLES)
def test_who_may_discard(
    team: CareTeam, entered: ProtocolActivation, who: str, may_write: bool, may_view: bool
) -> None:
    user = user_for(team, who)
    assert policies.can_discard_protocol_settings(user, entered) is may_write
    before = written()
    if may_write:
        discard_protocol_settings(entered, reason="Entered in error.", actor=user)
        assert reload(entered).status == ActivationStatus.DISCARDED
    else:
        with pytest.raises(PermissionDenied):
            discard_protocol_settings(entered, reason="Entered in error.", actor=user)
        assert written() == before
        assert reload(entered).status == ActivationStatus.AWAITING_SIGNATURES


Attempt = Callable[[CareTeam, ProtocolActivation, User], object]
ATTEMPTS: dict[str, Attempt] = {
    "enter": lambda team, _, user: enter(team, actor=user, mesna_dose="50"),
    "sign": lambda _, activation, user: sign(activation, user),
    "discard": lambda _, activation, user: discard_protocol_settings(
        activation, reason="Not ours.", actor=user
    ),
}


@pytest.mark.parametrize("role", [Role.PHARMACIST, Role.PHYSICIAN])
@pytest.mark.parametrize("attempt", list(ATTEMPTS))
def test_another_centers_signers_may_not_touch_this_centers_versions(
    team: CareTeam, entered: ProtocolActivation, role: Role, attempt: str
) -> None:
    outsider = make_team().by_role(role)
    assert not policies.can_view_protocol_settings(outsider, team.center)
    assert not policies.can_enter_protocol_settings(outsider, team.center)
    assert not policies.can_sign_protocol_settings(outsider, entered)
    assert not policies.can_discard_protocol_settings(outsider, entered)
    before = written()
    with pytest.raises(PermissionDenied):
        ATTEMPTS[attempt](team, entered, outsider)
    assert written() == before
    assert reload(entered).values == LIFILEUCEL_VALUES


def test_an_inactive_pharmacist_may_do_nothing(team: CareTeam, entered: ProtocolActivation) -> None:
    team.pharmacist.is_active = False
    team.pharmacist.save(update_fields=["is_active"])
    assert not policies.can_view_protocol_settings(team.pharmacist, team.center)
    before = written()
    for attempt in ATTEMPTS.values():
        with pytest.raises(PermissionDenied):
            attempt(team, entered, team.pharmacist)
    assert written() == before


def test_settings_are_not_entered_for_a_manufacturing_facility(team: CareTeam) -> None:
    with pytest.raises(PermissionDenied):
        enter_protocol_settings(
            team.facility,
            protocol_id=LIFILEUCEL[0],
            protocol_version=LIFILEUCEL[1],
            values=LIFILEUCEL_VALUES,
            actor=team.qa_reviewer,
        )
    assert written() == (0, 0, 0)


# The values as the clinical core reads them -----------------------------------------------------


def test_center_settings_are_typed_as_the_clinical_core_reads_them(
    in_force: ProtocolActivation,
) -> None:
    settings = selectors.center_settings_of(in_force)
    assert settings["cyclophosphamide_rounding_increment_mg"] == mg(10)
    assert settings["fludarabine_rounding_increment_mg"] == mg(1)
    assert settings["mesna_dose"] == mg_per_kg(60)
    assert settings["bsa_cap_m2"] == "no cap"
    assert settings["bsa_formula"] == "mosteller"
    assert settings["fludarabine_renal_bands"] == (
        RenalBand(ml_per_min(40), ml_per_min(49), mg_per_m2(15)),
        RenalBand(ml_per_min(50), ml_per_min(79), mg_per_m2(20)),
    )
    assert set(settings) == set(LIFILEUCEL_VALUES)


@pytest.mark.parametrize(
    ("weight_kg", "height_cm", "age", "cyclophosphamide_mg", "fludarabine_mg"),
    [
        # tilcare/clinical/tests/test_dosing_lymphodepletion.py, worked examples: Amtagvi US label
        # 2024 §2, cyclophosphamide 60 mg/kg × 80 kg = 4800 mg; fludarabine 25 mg/m² × Mosteller
        # √(180 × 80 / 3600) = 2.00 m² = 50 mg. CrCl (140 − 50) × 80 / (72 × 1.0) = 100 mL/min,
        # above the bands: the full 25 mg/m².
        pytest.param("80", "180", "50", "4800", "50", id="label: 4800 mg and 50 mg"),
        # Same file, renal band edges: 72 kg, 170 cm, a man of 61, SCr 1.0: CrCl 79 mL/min, top of
        # the center's 50–79 band -> 20 mg/m² × Mosteller 1.84 m² = 36.8 -> 37 mg (1 mg, half up);
        # cyclophosphamide 60 × 72 = 4320 mg.
        pytest.param("72", "170", "61", "4320", "37", id="CrCl 79: 20 mg/m² band, 37 mg"),
    ],
)
def test_lymphodepletion_doses_run_on_the_settings_in_force(
    in_force: ProtocolActivation,
    weight_kg: str,
    height_cm: str,
    age: str,
    cyclophosphamide_mg: str,
    fludarabine_mg: str,
) -> None:
    protocol = selectors.protocol_of(in_force)
    result = lymphodepletion_doses(
        protocol.lymphodepletion,
        selectors.center_settings_of(in_force),
        weight=kg(weight_kg),
        height=cm(height_cm),
        sex="male",
        age=years(age),
        serum_creatinine=mg_per_dl("1.0"),
    )
    doses = {(line.agent, line.day): line.dose for line in result.lines}
    assert doses == {
        **{("cyclophosphamide", day): mg(cyclophosphamide_mg) for day in (-7, -6)},
        **{("fludarabine", day): mg(fludarabine_mg) for day in (-5, -4, -3, -2, -1)},
    }
    assert all(line.protocol == REF for line in result.lines)


def test_a_capped_bsa_entered_as_text_reaches_the_calculation(team: CareTeam) -> None:
    # Same file: 120 kg, 190 cm: Mosteller 2.52 m², the center's 2.0 m² cap -> 25 × 2.0 = 50 mg.
    activation = activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        values={**LIFILEUCEL_VALUES, "bsa_cap_m2": "2.0"},
    )
    settings = selectors.center_settings_of(activation)
    assert settings["bsa_cap_m2"] == m2("2.0")
    result = lymphodepletion_doses(
        selectors.protocol_of(activation).lymphodepletion,
        settings,
        weight=kg("120"),
        height=cm("190"),
        sex="male",
        age=years("50"),
        serum_creatinine=mg_per_dl("1.0"),
    )
    assert {line.dose for line in result.lines if line.agent == "fludarabine"} == {mg(50)}


def test_entering_the_settings_in_force_again_is_refused_and_writes_nothing(team, in_force):
    # Given Riverside's lifileucel settings in force as version 1
    counts = row_counts(ProtocolActivation, AuditEvent)
    # When the pharmacist enters exactly the same values as a new version
    with pytest.raises(InvalidInput) as refused:
        enter_protocol_settings(
            team.center,
            protocol_id=LIFILEUCEL[0],
            protocol_version=LIFILEUCEL[1],
            values=LIFILEUCEL_VALUES,
            reason="Annual review, no change",
            actor=team.pharmacist,
        )
    # Then it is refused in words and nothing is written
    assert refused.value.errors == {
        "__all__": [
            "These are the settings of version 1, already in force: change at least one setting "
            "to enter a new version."
        ]
    }
    assert row_counts(ProtocolActivation, AuditEvent) == counts


def test_entering_an_unchanged_draft_again_records_nothing(team, entered):
    # Given a version awaiting signatures
    counts = row_counts(ProtocolActivation, AuditEvent)
    # When the same values are entered again
    again = enter_protocol_settings(
        team.center,
        protocol_id=LIFILEUCEL[0],
        protocol_version=LIFILEUCEL[1],
        values=LIFILEUCEL_VALUES,
        actor=team.pharmacist,
    )
    # Then it is the same version and no event is written
    assert again.pk == entered.pk
    assert row_counts(ProtocolActivation, AuditEvent) == counts
