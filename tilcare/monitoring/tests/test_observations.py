"""Recording observations through the service: all or nothing, refusals naming the field and the
limit, the same observation sent twice stored once, corrections that supersede, and who may."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from tilcare.accounts.choices import Role
from tilcare.audit.models import AuditEvent
from tilcare.core.errors import Conflict, InvalidInput, PermissionDenied
from tilcare.monitoring import policies, selectors
from tilcare.monitoring.models import Grade, Observation
from tilcare.monitoring.services.observations import correct_observation, record_observations
from tilcare.monitoring.tests.factories import LATE_EVENING, entry, vitals

pytestmark = pytest.mark.django_db

AT = LATE_EVENING - dt.timedelta(minutes=20)


def _counts() -> tuple[int, int, int]:
    return Observation.objects.count(), Grade.objects.count(), AuditEvent.objects.count()


def _refused(team: Any, patient: Any, entries: list[dict[str, Any]]) -> dict[str, list[str]]:
    before = _counts()
    with pytest.raises(InvalidInput) as refused:
        record_observations(patient, entries, actor=team.nurse, source="api")
    assert _counts() == before
    return refused.value.errors


def test_a_batch_is_stored_coded_and_audited(team, patient):
    # When a nurse records a heart rate and a urine output over four hours
    recorded = record_observations(
        patient,
        [
            entry("heart_rate", "72", AT, client_id="monitor-1"),
            entry(
                "urine_output", "180", AT, period_start=AT - dt.timedelta(hours=4), client_id="u-1"
            ),
        ],
        actor=team.nurse,
        source="form",
    )

    # Then both are stored with their codes and units, each with its audit event
    heart, urine = recorded.observations
    assert (heart.kind, heart.loinc, heart.unit, heart.value) == (
        "heart_rate",
        "8867-4",
        "/min",
        Decimal("72"),
    )
    assert (urine.loinc, urine.unit, urine.period_start) == (
        "urn:tilcare:observation|urine_output",
        "mL",
        AT - dt.timedelta(hours=4),
    )
    assert (heart.source, heart.recorded_by, heart.center) == ("form", team.nurse, team.center)
    events = AuditEvent.objects.filter(action="monitoring.observation.record")
    assert sorted(e.object_id for e in events) == sorted(
        [str(heart.public_id), str(urine.public_id)]
    )
    assert {e.subject_id for e in events} == {str(patient.public_id)}


@pytest.mark.parametrize(
    ("bad", "field", "message"),
    [
        (
            entry("temperature", "101.3", AT) | {"unit": "[degF]"},
            "unit",
            "Temperature is recorded in Cel (°C); “[degF]” was sent. Send the value in Cel: a "
            "value in another unit is refused, not converted.",
        ),
        (
            entry("anc", "500", AT) | {"unit": "/uL"},
            "unit",
            "Neutrophils (ANC) is recorded in 10*9/L (×10⁹/L); “/uL” was sent. Send the value in "
            "10*9/L: a value in another unit is refused, not converted.",
        ),
        (entry("heart_rate", "400", AT), "value", "Heart rate must be between 20 and 250 /min."),
        (entry("weight", "700", AT), "value", "Weight must be between 20 and 350 kg."),
        (
            entry("spo2", "-3", AT),
            "value",
            "Oxygen saturation (SpO2) must be between 50 and 100 %.",
        ),
        (
            entry("temperature", "37.25", AT),
            "value",
            "Temperature takes at most 1 decimal place(s) in °C.",
        ),
        (
            entry("heart_rate", "72", LATE_EVENING + dt.timedelta(minutes=6)),
            "effective_at",
            "The time it was measured cannot be in the future.",
        ),
        (
            entry("heart_rate", "72", dt.datetime(2026, 12, 14, 18, 0)),
            "effective_at",
            "Give the date and time with its time zone.",
        ),
        (
            entry("heart_rate", "72", dt.datetime(1960, 1, 1, tzinfo=dt.UTC)),
            "effective_at",
            "The time it was measured cannot be before the patient's date of birth "
            "(1968-04-12 05:00 UTC).",
        ),
        (
            entry("consciousness", "sleepy", AT),
            "value_text",
            "Consciousness (ACVPU) takes one of: A (Alert), C (New confusion), V (Responds to "
            "voice), P (Responds to pain), U (Unresponsive).",
        ),
        (
            entry("urine_output", "300", AT),
            "period_start",
            "Urine output is a total over a period: give when the period started.",
        ),
        (
            entry("fluid_intake", "300", AT, period_start=AT - dt.timedelta(hours=25)),
            "period_start",
            "A fluid total covers at most 24 hours: record each day's total on its own.",
        ),
        (
            entry("anc", "1.2", AT, reference_low="2.0", reference_high="1.5"),
            "reference_high",
            "The laboratory's upper limit of normal (1.5) must be above its lower limit (2.0).",
        ),
        (
            entry("heart_rate", "72", AT, reference_low="60"),
            "reference_low",
            "Heart rate takes no laboratory reference range.",
        ),
        (
            entry("anc", "1.2", AT, reference_low="0.5"),
            "reference_low",
            "neutrophil count lower limit of normal (LLN) 0.50 ×10⁹/L must be at least 1 ×10⁹/L.",
        ),
    ],
)
def test_an_impossible_entry_refuses_the_batch_naming_the_field_and_limit(
    team, patient, bad, field, message
):
    # Given a good heart rate and, second, a bad entry
    # When the batch is recorded
    errors = _refused(team, patient, [entry("heart_rate", "72", AT), bad])

    # Then nothing is written, and the refusal names the second entry's field and its limit
    assert errors == {f"entries.1.{field}": [message]}


def test_an_unknown_kind_and_field_are_refused(team, patient):
    errors = _refused(
        team, patient, [{"kind": "glucose", "value": "5"}, entry("spo2", "97", AT) | {"bpm": 1}]
    )

    assert errors["entries.0.kind"][0].startswith(
        "“glucose” is not an observation tilcare takes: one of heart_rate, respiratory_rate,"
    )
    assert errors["entries.1.bpm"] == [
        "Unknown field; check its spelling against the API documentation."
    ]


def test_more_than_500_entries_are_refused(team, patient):
    errors = _refused(team, patient, [entry("heart_rate", "72", AT)] * 501)

    assert errors == {
        "entries": ["Send at most 500 observations at once (got 501): split the batch."]
    }


def test_a_second_heart_rate_in_one_set_is_refused(team, patient):
    errors = _refused(team, patient, [*vitals("s", AT), entry("heart_rate", "90", AT, set_id="s")])

    assert errors == {
        "entries.8.kind": [
            "Set “s” has its heart rate in entry 5: a set holds one of each vital sign (send a "
            "correction to change one)."
        ]
    }


def test_the_same_observation_sent_twice_is_stored_once(team, patient):
    # Given a heart rate stored under the monitor's identifier
    first = record_observations(
        patient, [entry("heart_rate", "72", AT, client_id="hr-1")], actor=team.nurse, source="api"
    )
    before = _counts()

    # When the same observation is sent again (its time written in New York's offset)
    again = record_observations(
        patient,
        [entry("heart_rate", "72", AT.astimezone(dt.timezone(dt.timedelta(hours=-5))),
               client_id="hr-1")],
        actor=team.nurse,
        source="api",
    )  # fmt: skip

    # Then the stored one is returned and nothing is written
    assert again.observations == first.observations
    assert again.grades == []
    assert _counts() == before


def test_an_identifier_sent_twice_in_one_batch_is_stored_once(team, patient):
    recorded = record_observations(
        patient,
        [entry("heart_rate", "72", AT, client_id="hr-1")] * 2,
        actor=team.nurse,
        source="api",
    )

    assert recorded.observations[0] == recorded.observations[1]
    assert Observation.objects.count() == 1


def test_an_identifier_already_stored_with_other_content_is_a_conflict(team, patient):
    # Given a heart rate stored under "hr-1"
    record_observations(
        patient, [entry("heart_rate", "72", AT, client_id="hr-1")], actor=team.nurse, source="api"
    )
    before = _counts()

    # When another value is sent under the same identifier
    with pytest.raises(Conflict) as conflict:
        record_observations(
            patient,
            [entry("spo2", "97", AT), entry("heart_rate", "90", AT, client_id="hr-1")],
            actor=team.nurse,
            source="api",
        )

    # Then the batch is refused (409), naming the entry, and nothing is written
    assert conflict.value.errors == {
        "entries.1.client_id": [
            "An observation with client_id “hr-1” is already stored with other content: send a "
            "new client_id for a new observation, or a correction to change the stored one."
        ]
    }
    assert _counts() == before


def test_an_identifier_is_per_center(team, other_team, patient):
    from tilcare.patients.tests.factories import PatientFactory

    other = PatientFactory(center=other_team.center)
    record_observations(
        patient, [entry("heart_rate", "72", AT, client_id="hr-1")], actor=team.nurse, source="api"
    )

    recorded = record_observations(
        other,
        [entry("heart_rate", "90", AT, client_id="hr-1")],
        actor=other_team.nurse,
        source="api",
    )

    assert recorded.observations[0].patient == other
    assert Observation.objects.count() == 2


def test_a_correction_supersedes_with_its_reason_and_is_graded_again(team, patient):
    # Given a set scored NEWS2 0
    recorded = record_observations(patient, vitals("s", AT), actor=team.nurse, source="form")
    temperature = next(o for o in recorded.observations if o.kind == "temperature")

    # When the physician corrects its temperature, mistyped
    corrected = correct_observation(
        temperature, value="39.1", reason="Typed 37.0 for 39.1", actor=team.physician
    )

    # Then a new observation supersedes it, graded again, and its set scored again
    [new] = corrected.observations
    assert (new.value, new.supersedes, new.correction_reason, new.recorded_by) == (
        Decimal("39.1"),
        temperature,
        "Typed 37.0 for 39.1",
        team.physician,
    )
    assert [(g.system, g.term, g.grade) for g in corrected.grades] == [
        ("CTCAE v5.0", "Fever", 2),
        ("NEWS2", "NEWS2 aggregate score", 2),
    ]
    # And the old one is kept as it was, marked superseded, never edited
    temperature.refresh_from_db()
    assert temperature.value == Decimal("37.0")
    marked = {o.pk: o.is_superseded for o in selectors.list_for_patient(patient)}
    assert (marked[temperature.pk], marked[new.pk]) == (True, False)
    event = AuditEvent.objects.get(action="monitoring.observation.correct")
    assert (event.object_id, event.reason) == (str(new.public_id), "Typed 37.0 for 39.1")


def test_a_correction_needs_a_reason_and_a_new_value(team, patient):
    [heart] = record_observations(
        patient, [entry("heart_rate", "72", AT)], actor=team.nurse, source="api"
    ).observations
    before = _counts()

    with pytest.raises(InvalidInput) as no_reason:
        correct_observation(heart, value="400", reason=" ", actor=team.nurse)
    with pytest.raises(InvalidInput) as same:
        correct_observation(heart, value="72", reason="Checked", actor=team.nurse)

    assert no_reason.value.errors == {
        "reason": ["Say why the observation is corrected."],
        "value": ["Heart rate must be between 20 and 250 /min."],
    }
    assert same.value.errors == {
        "value": ["The corrected value is the value recorded: send the right value."]
    }
    assert _counts() == before


def test_an_observation_is_corrected_once_then_its_correction_is(team, patient):
    [heart] = record_observations(
        patient, [entry("heart_rate", "72", AT)], actor=team.nurse, source="api"
    ).observations
    correct_observation(heart, value="82", reason="Miscounted", actor=team.nurse)
    before = _counts()

    with pytest.raises(Conflict) as conflict:
        correct_observation(heart, value="92", reason="Again", actor=team.nurse)

    assert conflict.value.errors == {
        "__all__": ["This observation was already corrected: correct the latest entry."]
    }
    assert _counts() == before


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.NURSE, True),
        (Role.PHYSICIAN, True),
        (Role.NAVIGATOR, False),
        (Role.PHARMACIST, False),
        (Role.SURGEON, False),
        (Role.CENTER_ADMIN, False),
        (Role.FINANCIAL_COORDINATOR, False),
        (Role.SOCIAL_WORKER, False),
        (Role.MANUFACTURING_TECH, False),
        (Role.QA_REVIEWER, False),
    ],
)
def test_only_the_centers_nurse_and_physician_record(team, patient, role, allowed):
    user = team.by_role(role)
    before = _counts()

    if allowed:
        record_observations(patient, [entry("heart_rate", "72", AT)], actor=user, source="api")
        assert Observation.objects.count() == before[0] + 1
    else:
        with pytest.raises(PermissionDenied):
            record_observations(patient, [entry("heart_rate", "72", AT)], actor=user, source="api")
        assert _counts() == before
    assert policies.can_record_observation(user, patient) is allowed


def test_another_centers_nurse_neither_records_nor_reads(team, other_team, patient):
    before = _counts()

    with pytest.raises(PermissionDenied):
        record_observations(
            patient, [entry("heart_rate", "72", AT)], actor=other_team.nurse, source="api"
        )

    assert _counts() == before
    assert policies.can_view_observations(other_team.nurse, patient) is False


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.NURSE, True),
        (Role.PHYSICIAN, True),
        (Role.NAVIGATOR, True),
        (Role.PHARMACIST, True),
        (Role.FINANCIAL_COORDINATOR, True),
        (Role.MANUFACTURING_TECH, False),
        (Role.QA_REVIEWER, False),
    ],
)
def test_the_centers_clinical_staff_read_observations_and_a_facility_never(
    team, patient, role, allowed
):
    assert policies.can_view_observations(team.by_role(role), patient) is allowed


def test_a_weight_more_than_half_again_the_baseline_is_refused(team, patient):
    # Given a baseline of 80 kg
    from tilcare.patients.services import record_measurement

    record_measurement(
        patient, actor=team.nurse, measured_on=dt.date(2026, 12, 1), weight_kg="80", height_cm="180"
    )

    # When 176.0 kg arrives (80 kg typed in pounds): +120 %
    errors = _refused(team, patient, [entry("weight", "176.0", AT)])

    # Then it is refused in the clinical core's words, naming the value
    assert errors == {
        "entries.0.value": [
            "weight 176.0 kg is 120.0 % above the baseline weight 80.0 kg; a change of more than "
            "50 % from baseline is implausible: check both weights and their unit (kg)."
        ]
    }


def test_the_trail_vouches_for_every_observation_and_grade(team, patient):
    # Given a set recorded and one of its values corrected
    from tilcare.audit.selectors import verify_chain

    recorded = record_observations(patient, vitals("s", AT), actor=team.nurse, source="form")
    heart = next(o for o in recorded.observations if o.kind == "heart_rate")
    correct_observation(heart, value="95", reason="Recounted", actor=team.nurse)

    # When the chain is verified
    report = verify_chain()

    # Then it holds, and a grade changed behind the application's back breaks it
    assert report.ok is True
    Grade.objects.filter(system="NEWS2").update(grade=9)
    assert verify_chain().ok is False
