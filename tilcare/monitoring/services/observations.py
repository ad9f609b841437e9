"""Recording a patient's observations, graded as they arrive, and correcting one.

`record_observations` takes a batch from the bedside form or the API, all or nothing: one entry
refused refuses the batch, every problem named under `entries.<i>.<field>` with the limit. An
entry is refused when its kind is not in the catalogue (`clinical.observations`), its unit is not
the kind's UCUM unit (never converted), its value is outside the plausible range or has more
decimal places than the kind is recorded to, its time has no UTC offset, is in the future beyond
the clock allowance or before the patient's birth, or (fluid totals) its period does not end
after it starts within a day. An entry whose sender's identifier (`client_id`) is already stored
for the center returns the stored observation when its content is the same, and is refused (409)
when it differs.

Each new observation is graded in the same transaction (`services.grading`): the CTCAE v5.0
terms its value sets, and NEWS2 for each vital-signs set it belongs to. The audit events are
written last, so that they vouch for the observations and every grade.

`correct_observation` never edits: it records a new observation, with the reason, that
supersedes the old one, and grades it (and its set) again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.services import record_written
from tilcare.clinical.observations import BY_KEY
from tilcare.core.errors import Conflict, InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import (
    Errors,
    TextWords,
    check_decimal_range,
    check_text,
)
from tilcare.monitoring import policies, selectors
from tilcare.monitoring.choices import (
    MAX_ENTRIES,
    REASON_MAX,
    GradeSystem,
    Source,
)
from tilcare.monitoring.models import Grade, Observation
from tilcare.monitoring.services.entries import (
    Entry,
    check_entry,
    entry_field,
    entry_key,
)
from tilcare.monitoring.services.grading import GradingRefused, ctcae_for, grade_row, news2_for
from tilcare.patients.models import Patient


@dataclass
class Recorded:
    """What a batch (or a correction) stored: the observations in the order sent (an entry sent
    before returns the one stored then), and the grades written now."""

    observations: list[Observation] = field(default_factory=list)
    grades: list[Grade] = field(default_factory=list)


def _same_content(stored: Observation, entry: Entry, patient: Patient) -> bool:
    def same_number(a: Decimal | None, b: Decimal | None) -> bool:
        return a == b if a is not None and b is not None else a is b

    return (
        stored.patient_id == patient.pk
        and stored.kind == entry.kind.key
        and same_number(stored.value, entry.value)
        and stored.value_text == entry.value_text
        and stored.unit == entry.unit
        and stored.effective_at == entry.effective_at
        and stored.period_start == entry.period_start
        and same_number(stored.reference_low, entry.reference_low)
        and same_number(stored.reference_high, entry.reference_high)
        and stored.set_id == entry.set_id
        and stored.coi_din == entry.coi_din
        and stored.manufacture_attempt == entry.manufacture_attempt
        and stored.supersedes_id is None
    )


def _new_observation(entry: Entry, patient: Patient, actor: User, source: str) -> Observation:
    return Observation(
        center_id=patient.center_id,
        patient=patient,
        coi_din=entry.coi_din,
        manufacture_attempt=entry.manufacture_attempt,
        kind=entry.kind.key,
        loinc=entry.kind.code,
        value=entry.value,
        value_text=entry.value_text,
        unit=entry.unit,
        effective_at=entry.effective_at,
        period_start=entry.period_start,
        reference_low=entry.reference_low,
        reference_high=entry.reference_high,
        set_id=entry.set_id,
        source=source,
        client_id=entry.client_id,
        recorded_by=actor,
    )


def _sort_duplicates(
    entries: Sequence[Entry], patient: Patient
) -> tuple[dict[int, Observation], list[Entry], dict[int, int]]:
    """Which entries were stored before (by index), which are new, and which repeat an earlier
    entry of the same batch (index -> that entry's index). A sender's identifier already stored
    (or repeated in the batch) with other content is refused: 409, naming the entry."""
    stored = selectors.stored_by_client_id(patient.center, (e.client_id for e in entries))
    earlier: dict[int, Observation] = {}
    repeats: dict[int, int] = {}
    first_by_client: dict[str, Entry] = {}
    conflicts: Errors = {}
    new: list[Entry] = []
    for entry in entries:
        client_id = entry.client_id
        if client_id and client_id in stored:
            if _same_content(stored[client_id], entry, patient):
                earlier[entry.index] = stored[client_id]
            else:
                conflicts[entry_key(entry.index, "client_id")] = [
                    f"An observation with client_id “{client_id}” is already stored with other "
                    "content: send a new client_id for a new observation, or a correction to "
                    "change the stored one."
                ]
            continue
        if client_id and client_id in first_by_client:
            first = first_by_client[client_id]
            if _content(first) == _content(entry):
                repeats[entry.index] = first.index
            else:
                conflicts[entry_key(entry.index, "client_id")] = [
                    f"Entry {first.index} of this batch has client_id “{client_id}” with other "
                    "content: each observation needs its own client_id."
                ]
            continue
        if client_id:
            first_by_client[client_id] = entry
        new.append(entry)
    if conflicts:
        raise Conflict(conflicts)
    return earlier, new, repeats


def _content(entry: Entry) -> tuple[Any, ...]:
    return tuple(getattr(entry, name) for name in entry.__dataclass_fields__ if name != "index")


def _check_sets(entries: Sequence[Entry], patient: Patient) -> None:
    """A set holds at most one of each NEWS2 parameter (a second is a correction)."""
    set_ids = {e.set_id for e in entries if e.set_id and e.kind.news2 is not None}
    members = selectors.set_members(patient, set_ids)
    taken: dict[tuple[str, str], str] = {
        (set_id, row.kind): "already recorded in this set"
        for set_id, rows in members.items()
        for row in rows
    }
    errors: Errors = {}
    for entry in entries:
        if not entry.set_id or entry.kind.news2 is None:
            continue
        slot = (entry.set_id, entry.kind.key)
        if slot in taken:
            errors[entry_key(entry.index, "kind")] = [
                f"Set “{entry.set_id}” has its {entry.kind.label.lower()} {taken[slot]}: a set "
                "holds one of each vital sign (send a correction to change one)."
            ]
        else:
            taken[slot] = f"in entry {entry.index}"
    if errors:
        raise InvalidInput(errors)


def _grade(observation: Observation) -> list[Grade]:
    return [
        grade_row(
            graded,
            observation=observation,
            patient_id=observation.patient_id,
            center_id=observation.center_id,
            set_id="",
            effective_at=observation.effective_at,
            system=GradeSystem.CTCAE_V5_0,
        )
        for graded in ctcae_for(observation)
    ]


def _score_sets(patient: Patient, set_ids: set[str]) -> list[Grade]:
    rows = []
    for set_id, members in selectors.set_members(patient, sorted(set_ids)).items():
        graded = news2_for(members)
        if graded is None:
            continue
        rows.append(
            grade_row(
                graded,
                observation=None,
                patient_id=patient.pk,
                center_id=patient.center_id,
                set_id=set_id,
                effective_at=max(member.effective_at for member in members),
                system=GradeSystem.NEWS2,
            )
        )
    return rows


def _save_and_grade(
    observations: Sequence[Observation], fields: Sequence[Callable[[str], str]]
) -> list[Grade]:
    """Save the observations and their CTCAE grades, refusing (all of them) an entry the clinical
    core refuses against its range or baseline, under the field `fields[i]` names."""
    grades: list[Grade] = []
    errors: Errors = {}
    for named, observation in zip(fields, observations, strict=True):
        observation.save()
        try:
            grades += _grade(observation)
        except GradingRefused as refused:
            errors[named(refused.field)] = [str(refused)]
    if errors:
        raise InvalidInput(errors)
    for grade in grades:
        grade.save()
    return grades


def record_observations(patient: Patient, entries: object, *, actor: User, source: str) -> Recorded:
    """Record a batch of observations, all or nothing, and grade each as it arrives (module)."""
    require(policies.can_record_observation(actor, patient), policies.RECORD_REFUSED)
    if source not in Source.values:
        raise ValueError(f"source {source!r} must be one of {Source.values}")
    if not isinstance(entries, list | tuple) or not entries:
        raise InvalidInput({"entries": ["Send at least one observation."]})
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(
            {
                "entries": [
                    f"Send at most {MAX_ENTRIES} observations at once (got {len(entries)}): "
                    "split the batch."
                ]
            }
        )
    now = timezone.now()
    errors: Errors = {}
    checked = [check_entry(errors, i, raw, patient, now) for i, raw in enumerate(entries)]
    if errors:
        raise InvalidInput(errors)
    valid = [entry for entry in checked if entry is not None]
    try:
        with transaction.atomic():
            # One batch of a patient at a time: a set, a duplicate or a baseline is judged
            # against what the batch before it stored.
            patient = (
                Patient.objects.select_for_update().select_related("center").get(pk=patient.pk)
            )
            earlier, new, repeats = _sort_duplicates(valid, patient)
            _check_sets(new, patient)
            observations = [_new_observation(entry, patient, actor, source) for entry in new]
            grades = _save_and_grade(observations, [entry_field(entry.index) for entry in new])
            set_ids = {o.set_id for o in observations if o.set_id}
            news2 = _score_sets(patient, set_ids)
            for grade in news2:
                grade.save()
            for observation in observations:
                record_written(
                    Action.OBSERVATION_RECORD,
                    observation,
                    actor=actor,
                    subject_id=str(patient.public_id),
                )
    except IntegrityError as clash:
        # Another batch of the center stored the same client_id in the meantime.
        raise Conflict(
            {
                "entries": [
                    "An observation of this batch was just stored by another request: send the "
                    "batch again."
                ]
            }
        ) from clash
    by_index = {entry.index: o for entry, o in zip(new, observations, strict=True)}
    by_index.update(earlier)
    for index, first in repeats.items():
        by_index[index] = by_index[first]
    ordered = [by_index[entry.index] for entry in valid]
    return Recorded(observations=ordered, grades=grades + news2)


def correct_observation(
    observation: Observation,
    *,
    value: object,
    reason: object,
    actor: User,
    source: str = Source.API,
) -> Recorded:
    """Correct an observation: a new one, with the reason, supersedes it and is graded (its set
    scored again). The one corrected is kept as it was."""
    require(policies.can_record_observation(actor, observation.patient), policies.RECORD_REFUSED)
    if source not in Source.values:
        raise ValueError(f"source {source!r} must be one of {Source.values}")
    kind = BY_KEY[observation.kind]
    errors: Errors = {}
    text = check_text(
        errors,
        "reason",
        reason,
        max_length=REASON_MAX,
        words=TextWords(required="Say why the observation is corrected."),
    )
    number: Decimal | None = None
    answer = ""
    if kind.is_categorical:
        choices = ", ".join(f"{a.code} ({a.label})" for a in kind.answers)
        if not isinstance(value, str) or kind.answer(value) is None:
            errors["value"] = [f"{kind.label} takes one of: {choices}."]
        else:
            answer = value
    else:
        number = check_decimal_range(
            errors, "value", kind.label, value, kind.minimum, kind.maximum, kind.unit_text,
            kind.places,
        )  # fmt: skip
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        old = (
            Observation.objects.select_for_update()
            .select_related("center", "patient", "patient__center")
            .get(pk=observation.pk)
        )
        if Observation.objects.filter(supersedes=old).exists():
            raise Conflict(
                {"__all__": ["This observation was already corrected: correct the latest entry."]}
            )
        if (number is not None and old.value == number) or (answer and old.value_text == answer):
            raise InvalidInput(
                {"value": ["The corrected value is the value recorded: send the right value."]}
            )
        new = Observation(
            center_id=old.center_id,
            patient=old.patient,
            coi_din=old.coi_din,
            manufacture_attempt=old.manufacture_attempt,
            kind=old.kind,
            loinc=old.loinc,
            value=number,
            value_text=answer,
            unit=old.unit,
            effective_at=old.effective_at,
            period_start=old.period_start,
            reference_low=old.reference_low,
            reference_high=old.reference_high,
            set_id=old.set_id,
            source=source,
            client_id="",
            recorded_by=actor,
            supersedes=old,
            correction_reason=text,
        )
        grades = _save_and_grade([new], [str])
        news2 = _score_sets(old.patient, {new.set_id} if new.set_id else set())
        for grade in news2:
            grade.save()
        grades += news2
        record_written(
            Action.OBSERVATION_CORRECT,
            new,
            actor=actor,
            reason=text,
            subject_id=str(old.patient.public_id),
        )
    return Recorded(observations=[new], grades=grades)
