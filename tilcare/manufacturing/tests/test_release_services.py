"""The release services: the facility's specifications, the formulation into labelled bags, release
tests judged against specification (the dose against the protocol), QA's signed disposition and
the treating physician's acknowledgement of a release under exception; and what the center's scan
of a bag says afterwards (released, not released, expired).

The helpers at the top build the scene the other release test modules use too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.models import AuditEvent, Signature
from tilcare.core.errors import InvalidInput, PermissionDenied, TransitionBlocked
from tilcare.identity.choices import HandoffStep, ItemKind, ScanResult
from tilcare.identity.models import Item
from tilcare.identity.services.custody import ScanRequest, record_scan
from tilcare.identity.services.items import create_item
from tilcare.journey.choices import Stage
from tilcare.journey.models import Journey
from tilcare.journey.tests.factories import CareTeam, make_team, open_journey_for, walk_to
from tilcare.manufacturing.choices import BatchStatus, Disposition, ReleaseTestKind
from tilcare.manufacturing.models import (
    Batch,
    BatchTransition,
    ProductBag,
    QaDisposition,
    ReleaseSpecification,
    ReleaseTest,
    RepCount,
)
from tilcare.manufacturing.services import formulation
from tilcare.manufacturing.services import release as release_services
from tilcare.patients.tests.factories import (
    TEST_PASSWORD,
    CenterFactory,
    FacilityFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

K = ReleaseTestKind
IDENTITY = ("Theodora", "Lindqvist", "MRN004512", "1968-04-12")
STORAGE = "≤ −150 °C (vapor phase of liquid nitrogen)"
# Two bags, 9.0 + 8.5 = 17.5 ×10⁹ viable cells: within lifileucel's 7.5–72 ×10⁹ in 1–4 bags.
BAGS = [(Decimal("250.0"), Decimal(9_000_000_000)), (Decimal("250.0"), Decimal(8_500_000_000))]
SPECS: dict[str, dict[str, object]] = {
    K.VIABILITY: {"minimum": Decimal(70), "unit": "%"},
    K.IDENTITY_PURITY: {"minimum": Decimal(90), "unit": "% CD3+"},
    K.STERILITY: {"expected_text": "No growth"},
    K.ENDOTOXIN: {"maximum": Decimal(5), "unit": "EU/mL"},
    K.MYCOPLASMA: {"expected_text": "Negative"},
    K.POTENCY: {"minimum": Decimal(200), "unit": "pg/mL IFN-γ"},
}
PASSING: dict[str, dict[str, object]] = {
    K.VIABLE_CELL_DOSE: {},
    K.VIABILITY: {"result_value": Decimal("85.5"), "unit": "%"},
    K.IDENTITY_PURITY: {"result_value": Decimal("97.2"), "unit": "% CD3+"},
    K.STERILITY: {"result_text": "No growth"},
    K.ENDOTOXIN: {"result_value": Decimal("0.8"), "unit": "EU/mL"},
    K.MYCOPLASMA: {"result_text": "Negative"},
    K.POTENCY: {"result_value": Decimal(850), "unit": "pg/mL IFN-γ"},
}
FAILING_VIABILITY = {"result_value": Decimal("61.0"), "unit": "%"}


@dataclass(frozen=True)
class Scene:
    team: CareTeam
    journey: Journey
    batch: Batch


def make_scene() -> Scene:
    """A journey at manufacturing (its specimen container labelled by the center) and its batch of
    attempt 1 in the REP with one count, at Northgate Cell Therapy for Riverside Cancer Center."""
    team = make_team(
        CenterFactory(name="Riverside Cancer Center"),
        FacilityFactory(name="Northgate Cell Therapy"),
    )
    patient = PatientFactory(
        center=team.center,
        given_name=IDENTITY[0],
        family_name=IDENTITY[1],
        mrn=IDENTITY[2],
        date_of_birth=dt.date(1968, 4, 12),
    )
    journey = walk_to(open_journey_for(patient, team.navigator), Stage.AT_MANUFACTURING, users=team)
    create_item(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        kind=ItemKind.TUMOR_SPECIMEN,
        center=team.center,
        facility=team.facility,
        description="Tumor specimen container",
        actor=team.navigator,
    )
    now = timezone.now()
    batch = Batch.objects.create(
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        manufacture_attempt=1,
        center=team.center,
        facility=team.facility,
        protocol_id="lifileucel_us",
        protocol_version="2024",
        status=BatchStatus.REP,
        status_changed_at=now,
        opened_at=now - dt.timedelta(days=20),
        created_by=team.manufacturing_tech,
    )
    RepCount.objects.create(
        batch=batch,
        day=7,
        counted_at=now - dt.timedelta(days=1),
        viable_cells=Decimal(2_800_000_000),
        viability_percent=Decimal("92.5"),
        recorded_by=team.manufacturing_tech,
    )
    return Scene(team, journey, fresh(batch))


def fresh(batch: Batch) -> Batch:
    return Batch.objects.select_related("facility", "center").get(pk=batch.pk)


def set_specs(scene: Scene) -> None:
    for test, values in SPECS.items():
        formulation.set_release_specification(
            facility=scene.team.facility,
            protocol_id="lifileucel_us",
            test=test,
            actor=scene.team.qa_reviewer,
            **values,  # type: ignore[arg-type]
        )


def formulate(scene: Scene, bags: list[tuple[Decimal, Decimal]] = BAGS) -> list[ProductBag]:
    return formulation.record_formulation(
        scene.batch, bags=bags, storage_temperature=STORAGE, actor=scene.team.manufacturing_tech
    )


def record(
    scene: Scene,
    test: str,
    *,
    tested_at: dt.datetime | None = None,
    actor: User | None = None,
    **values: object,
) -> ReleaseTest:
    """Record `test`'s result on the scene's batch: tested an hour ago by its technologist unless
    `tested_at` or `actor` say otherwise."""
    return release_services.record_release_test(
        fresh(scene.batch),
        test=test,
        tested_at=tested_at or timezone.now() - dt.timedelta(hours=1),
        actor=actor or scene.team.manufacturing_tech,
        **values,  # type: ignore[arg-type]
    )


def record_results(scene: Scene, *, overrides: dict[str, dict[str, object]] | None = None) -> None:
    for test, values in {**PASSING, **(overrides or {})}.items():
        record(scene, test, **values)


def ready_for_disposition(scene: Scene, **overrides: dict[str, object]) -> Batch:
    set_specs(scene)
    formulate(scene)
    record_results(scene, overrides=overrides)
    return fresh(scene.batch)


def expiry() -> dt.datetime:
    return timezone.now() + dt.timedelta(days=180)


def bag_items(batch: Batch) -> list[Item]:
    ids = ProductBag.objects.filter(batch=batch).values_list("item_id", flat=True)
    return list(Item.objects.filter(item_id__in=ids).order_by("number"))


def counts() -> tuple[int, ...]:
    return (
        ReleaseSpecification.objects.count(),
        ProductBag.objects.count(),
        Item.objects.count(),
        ReleaseTest.objects.count(),
        QaDisposition.objects.count(),
        Signature.objects.count(),
        BatchTransition.objects.count(),
        Item.objects.filter(released_at__isnull=False).count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def scene() -> Scene:
    return make_scene()


# ---------- specifications ----------


def test_qa_sets_a_numeric_specification(scene):
    # When the facility's QA reviewer sets viability at 70 % or more
    spec = formulation.set_release_specification(
        facility=scene.team.facility,
        protocol_id="lifileucel_us",
        test=K.VIABILITY,
        minimum=Decimal(70),
        unit="%",
        actor=scene.team.qa_reviewer,
    )

    # Then the criterion reads as it is judged, and the setting is audited
    assert (spec.criterion, spec.minimum, spec.maximum, spec.unit) == ("≥ 70 %", 70, None, "%")
    event = AuditEvent.objects.get(action="manufacturing.release_spec.set")
    assert event.actor_id == scene.team.qa_reviewer.pk


def test_changing_a_specification_keeps_one_row_with_its_before_and_after(scene):
    set_specs(scene)

    formulation.set_release_specification(
        facility=scene.team.facility,
        protocol_id="lifileucel_us",
        test=K.ENDOTOXIN,
        maximum=Decimal("2.5"),
        unit="EU/mL",
        actor=scene.team.qa_reviewer,
    )

    spec = ReleaseSpecification.objects.get(test=K.ENDOTOXIN)
    assert (ReleaseSpecification.objects.count(), spec.criterion) == (6, "≤ 2.5 EU/mL")
    event = AuditEvent.objects.filter(action="manufacturing.release_spec.set").last()
    assert (event.before["maximum"], event.after["maximum"]) == ("5.0000", "2.5")


@pytest.mark.parametrize("who", ["manufacturing_tech", "other_qa", "physician"])
def test_only_the_facility_qa_sets_specifications(scene, who):
    actor = (
        UserFactory(role="qa_reviewer", organization=FacilityFactory())
        if who == "other_qa"
        else getattr(scene.team, who)
    )
    before = counts()

    with pytest.raises(PermissionDenied):
        formulation.set_release_specification(
            facility=scene.team.facility,
            protocol_id="lifileucel_us",
            test=K.VIABILITY,
            minimum=Decimal(70),
            unit="%",
            actor=actor,
        )

    assert counts() == before


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"test": K.VIABLE_CELL_DOSE, "minimum": Decimal(1), "unit": "cells"},
            "test",
            "The viable-cell dose range comes from the protocol file; it is not set here.",
        ),
        (
            {"test": K.STERILITY, "expected_text": ""},
            "expected_text",
            "Sterility is a pass/fail test: give the expected result, e.g. “No growth”.",
        ),
        (
            {"test": K.VIABILITY, "minimum": Decimal(90), "maximum": Decimal(80), "unit": "%"},
            "maximum",
            "Maximum (80) must not be below minimum (90).",
        ),
        (
            {"test": K.ENDOTOXIN, "maximum": Decimal(5)},
            "unit",
            "Give the unit of the limits, e.g. “%” or “EU/mL”.",
        ),
        (
            {"test": K.VIABILITY, "unit": "%"},
            "minimum",
            "Give a minimum, a maximum or both for Viability.",
        ),
        (
            {"test": K.VIABILITY, "minimum": Decimal(-1), "unit": "%"},
            "minimum",
            "Minimum must be from 0 to 10¹⁵ with at most 4 decimals (got -1).",
        ),
    ],
)
def test_a_specification_that_cannot_judge_is_refused_naming_the_field(
    scene, values, field, message
):
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        formulation.set_release_specification(
            facility=scene.team.facility,
            protocol_id="lifileucel_us",
            actor=scene.team.qa_reviewer,
            **values,
        )

    assert refused.value.errors[field] == [message]
    assert counts() == before


def test_an_unknown_protocol_is_refused(scene):
    with pytest.raises(InvalidInput) as refused:
        formulation.set_release_specification(
            facility=scene.team.facility,
            protocol_id="lifileucel-us-2024",
            test=K.VIABILITY,
            minimum=Decimal(70),
            unit="%",
            actor=scene.team.qa_reviewer,
        )

    assert refused.value.errors["protocol_id"] == [
        "Choose one of the protocols: lifileucel_us, nki_phase3."
    ]


# ---------- formulation ----------


def test_the_technologist_formulates_into_labelled_bags(scene):
    # When the technologist records two bags
    bags = formulate(scene)

    # Then each bag has its product-bag item of this COI, attempt, center and facility
    items = bag_items(scene.batch)
    assert [(b.bag_number, b.volume_ml, b.viable_cells) for b in bags] == [
        (1, Decimal("250.0"), Decimal(9_000_000_000)),
        (2, Decimal("250.0"), Decimal(8_500_000_000)),
    ]
    assert [b.item_id for b in bags] == [
        f"{scene.batch.coi_din}-BG01",
        f"{scene.batch.coi_din}-BG02",
    ]
    assert {
        (i.kind, i.manufacture_attempt, i.center_id, i.facility_id, i.storage_temperature)
        for i in items
    } == {(ItemKind.PRODUCT_BAG, 1, scene.team.center.pk, scene.team.facility.pk, STORAGE)}
    assert all(i.released_at is None and i.expires_at is None for i in items)
    # And the batch is harvested and formulated, with its transition
    assert fresh(scene.batch).status == BatchStatus.HARVESTED
    transition = BatchTransition.objects.get(batch=scene.batch)
    assert (transition.from_status, transition.to_status) == (
        BatchStatus.REP,
        BatchStatus.HARVESTED,
    )


def test_formulation_without_a_storage_temperature_is_refused(scene):
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        formulation.record_formulation(
            scene.batch, bags=BAGS, storage_temperature="", actor=scene.team.manufacturing_tech
        )

    assert refused.value.errors["storage_temperature"] == [
        "Give the storage temperature printed on the bags, e.g. “≤ −150 °C (vapor phase of "
        "liquid nitrogen)”; there is no default."
    ]
    assert counts() == before


def test_impossible_bags_are_refused_naming_each_bag(scene):
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        formulation.record_formulation(
            scene.batch,
            bags=[(Decimal("-5"), Decimal(10**9)), (Decimal("100.0"), Decimal(0))],
            storage_temperature=STORAGE,
            actor=scene.team.manufacturing_tech,
        )

    assert refused.value.errors["bags"] == [
        "Bag 1: volume must be more than 0 and at most 1000 mL, with at most 1 decimal (got -5).",
        "Bag 2: viable cells must be a whole number of cells from 1 to 10¹² (got 0).",
    ]
    assert counts() == before


def test_more_bags_than_the_limit_are_refused(scene):
    with pytest.raises(InvalidInput) as refused:
        formulation.record_formulation(
            scene.batch,
            bags=[(Decimal(100), Decimal(10**9))] * 9,
            storage_temperature=STORAGE,
            actor=scene.team.manufacturing_tech,
        )

    assert refused.value.errors["bags"] == ["Give from 1 to 8 bags (got 9)."]


def test_qa_does_not_formulate(scene):
    before = counts()

    with pytest.raises(PermissionDenied):
        formulation.record_formulation(
            scene.batch, bags=BAGS, storage_temperature=STORAGE, actor=scene.team.qa_reviewer
        )

    assert counts() == before


def test_the_formulation_is_recorded_once(scene):
    formulate(scene)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        formulation.record_formulation(
            fresh(scene.batch),
            bags=BAGS,
            storage_temperature=STORAGE,
            actor=scene.team.manufacturing_tech,
        )

    assert refused.value.errors["bags"] == ["The formulation of this batch is already recorded."]
    assert counts() == before


def test_formulation_waits_for_the_rep_counts_the_workflow_requires(scene):
    RepCount.objects.filter(batch=scene.batch).delete()
    before = counts()

    with pytest.raises(TransitionBlocked) as blocked:
        formulate(scene)

    assert blocked.value.reasons == ["Record at least one REP count before the harvest."]
    assert counts() == before


# ---------- release tests ----------


def test_a_measured_result_within_its_limits_passes_and_starts_release_testing(scene):
    set_specs(scene)
    formulate(scene)

    result = record(scene, K.VIABILITY, result_value=Decimal("85.5"), unit="%")

    assert (result.passed, result.specification, result.result_value, result.result_unit) == (
        True,
        "≥ 70 %",
        Decimal("85.5"),
        "%",
    )
    assert fresh(scene.batch).status == BatchStatus.RELEASE_TESTING


def test_a_measured_result_outside_its_limits_fails(scene):
    set_specs(scene)
    formulate(scene)

    result = record(scene, K.VIABILITY, **FAILING_VIABILITY)

    assert result.passed is False


@pytest.mark.parametrize(("text", "passed"), [("no  GROWTH", True), ("Growth detected", False)])
def test_a_pass_fail_result_is_read_against_the_expected_text(scene, text, passed):
    set_specs(scene)
    formulate(scene)

    result = record(scene, K.STERILITY, result_text=text)

    assert (result.passed, result.specification) == (passed, "No growth")


def test_a_test_without_a_specification_is_refused_naming_what_to_set(scene):
    formulate(scene)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        record(scene, K.ENDOTOXIN, result_value=Decimal("0.8"), unit="EU/mL")

    assert refused.value.errors["test"] == [
        "Endotoxin has no specification for protocol lifileucel_us: a QA reviewer of Northgate "
        "Cell Therapy must set it on the release specifications page before this result can be "
        "judged."
    ]
    assert counts() == before


def test_a_result_in_another_unit_is_refused_not_converted(scene):
    set_specs(scene)
    formulate(scene)

    with pytest.raises(InvalidInput) as refused:
        record(scene, K.ENDOTOXIN, result_value=Decimal("0.8"), unit="EU/kg")

    assert refused.value.errors["unit"] == [
        "Give the result in “EU/mL”, the specification's unit (got “EU/kg”); results are not "
        "converted."
    ]


def test_the_dose_is_the_bags_total_against_the_protocol_range(scene):
    formulate(scene)

    result = record(scene, K.VIABLE_CELL_DOSE)

    assert (result.passed, result.result_value, result.result_unit) == (
        True,
        Decimal(17_500_000_000),
        "cells",
    )
    assert result.specification == (
        "7.5 to 72 ×10⁹ viable cells in 1 to 4 bags (protocol lifileucel_us version 2024)"
    )


def test_a_dose_below_the_protocol_minimum_fails(scene):
    formulate(scene, bags=[(Decimal("100.0"), Decimal(5_000_000_000))])

    result = record(scene, K.VIABLE_CELL_DOSE)

    assert (result.passed, result.result_value) == (False, Decimal(5_000_000_000))


def test_the_dose_before_the_formulation_is_refused(scene):
    # Given a batch moved on to "Harvested" with no bags recorded
    Batch.objects.filter(pk=scene.batch.pk).update(status=BatchStatus.HARVESTED)

    with pytest.raises(InvalidInput) as refused:
        record(scene, K.VIABLE_CELL_DOSE)

    assert refused.value.errors["test"] == [
        "Record the formulation (bags with their viable cells) first: the dose is their total."
    ]


def test_no_result_is_recorded_during_the_rep(scene):
    set_specs(scene)

    with pytest.raises(PermissionDenied):
        record(scene, K.VIABILITY, result_value=Decimal(80), unit="%")


def test_a_recorded_result_is_not_replaced(scene):
    set_specs(scene)
    formulate(scene)
    record(scene, K.VIABILITY, **FAILING_VIABILITY)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        record(scene, K.VIABILITY, result_value=Decimal(90), unit="%")

    assert refused.value.errors["test"] == [
        "Viability is already recorded for this batch (failed); a recorded result is not "
        "replaced. A failed result goes to QA's disposition."
    ]
    assert counts() == before


def test_a_result_tested_in_the_future_is_refused(scene):
    set_specs(scene)
    formulate(scene)

    with pytest.raises(InvalidInput) as refused:
        record(
            scene,
            K.VIABILITY,
            tested_at=timezone.now() + dt.timedelta(hours=2),
            result_value=Decimal(80),
            unit="%",
        )

    assert refused.value.errors["tested_at"] == ["The date and time cannot be in the future."]


def test_another_facility_does_not_record_results(scene):
    set_specs(scene)
    formulate(scene)
    stranger = UserFactory(role="manufacturing_tech", organization=FacilityFactory())

    with pytest.raises(PermissionDenied):
        record(
            scene, K.VIABILITY, tested_at=timezone.now(), result_value=Decimal(80), unit="%",
            actor=stranger,
        )  # fmt: skip


# ---------- disposition ----------


def decide(scene: Scene, decision: str, *, actor=None, password=TEST_PASSWORD, **kwargs):
    return release_services.decide_disposition(
        fresh(scene.batch),
        decision=decision,
        password=password,
        actor=actor or scene.team.qa_reviewer,
        **kwargs,
    )


def released_by_qa(scene: Scene) -> QaDisposition:
    """Every release test passed and QA released the product (expiring in 180 days)."""
    ready_for_disposition(scene)
    return decide(scene, Disposition.RELEASE, expires_at=expiry())


def test_qa_releases_when_every_test_passed(scene):
    ready_for_disposition(scene)
    expires_at = expiry()

    disposition = decide(scene, Disposition.RELEASE, expires_at=expires_at)

    # Then each bag's item is released and dated, and the batch is released
    items = bag_items(scene.batch)
    assert {(i.released_at, i.expires_at) for i in items} == {(disposition.decided_at, expires_at)}
    assert fresh(scene.batch).status == BatchStatus.RELEASED
    # And QA's signature carries printed name and meaning, and covers the record as it is
    signature = disposition.qa_signature
    assert (signature.printed_name, signature.meaning) == (
        scene.team.qa_reviewer.printed_name,
        "QA release",
    )
    assert release_services.signature_valid(disposition, signature)


def test_release_is_refused_while_a_test_failed(scene):
    ready_for_disposition(scene, **{K.VIABILITY: FAILING_VIABILITY})
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        decide(scene, Disposition.RELEASE, expires_at=expiry())

    assert refused.value.errors["decision"] == [
        "Failed: Viability. Choose release under exception (with the treating physician's "
        "acknowledgement) or reject."
    ]
    assert counts() == before


def test_release_is_refused_while_a_test_is_missing(scene):
    set_specs(scene)
    formulate(scene)
    record(scene, K.VIABLE_CELL_DOSE)

    with pytest.raises(InvalidInput) as refused:
        decide(scene, Disposition.RELEASE, expires_at=expiry())

    assert refused.value.errors["decision"] == [
        "Every release test must be recorded first; missing: Viability, Identity / purity (e.g. "
        "CD3+ %), Sterility, Endotoxin, Mycoplasma, Potency."
    ]


def test_release_needs_the_facility_expiry(scene):
    ready_for_disposition(scene)

    with pytest.raises(InvalidInput) as refused:
        decide(scene, Disposition.RELEASE)

    assert refused.value.errors["expires_at"] == [
        "Give the product's expiry date and time from the facility's stability data; there is "
        "no default."
    ]


def test_a_wrong_password_signs_nothing_and_writes_nothing(scene):
    ready_for_disposition(scene)
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        decide(scene, Disposition.RELEASE, password="wrong", expires_at=expiry())

    assert refused.value.errors["password"] == [
        "The password is not correct. Enter your own password to sign."
    ]
    assert counts() == before
    assert {i.expires_at for i in bag_items(scene.batch)} == {None}


def test_an_exception_needs_a_reason(scene):
    ready_for_disposition(scene, **{K.VIABILITY: FAILING_VIABILITY})

    with pytest.raises(InvalidInput) as refused:
        decide(scene, Disposition.RELEASE_EXCEPTION, expires_at=expiry())

    assert refused.value.errors["reason"] == [
        "Say why the product is released although a test failed."
    ]


def test_an_exception_is_not_a_release_until_the_physician_signs(scene):
    ready_for_disposition(scene, **{K.VIABILITY: FAILING_VIABILITY})
    expires_at = expiry()

    disposition = decide(
        scene,
        Disposition.RELEASE_EXCEPTION,
        reason="Viability 61 %; no alternative product; benefit judged to outweigh risk.",
        expires_at=expires_at,
    )

    assert disposition.qa_signature.meaning == "QA release under exception"
    assert {(i.released_at, i.expires_at) for i in bag_items(scene.batch)} == {(None, expires_at)}
    assert fresh(scene.batch).status == BatchStatus.RELEASE_TESTING


def test_an_exception_when_every_test_passed_is_refused(scene):
    ready_for_disposition(scene)

    with pytest.raises(InvalidInput) as refused:
        decide(scene, Disposition.RELEASE_EXCEPTION, reason="Why not", expires_at=expiry())

    assert refused.value.errors["decision"] == ["Every release test passed: choose release."]


def test_a_rejection_needs_a_reason(scene):
    ready_for_disposition(scene)

    with pytest.raises(InvalidInput) as refused:
        decide(scene, Disposition.REJECT)

    assert refused.value.errors["reason"] == ["Say why the product is rejected."]


def test_qa_rejects_the_product(scene):
    ready_for_disposition(scene, **{K.STERILITY: {"result_text": "Growth: S. epidermidis"}})

    disposition = decide(scene, Disposition.REJECT, reason="Sterility failed.")

    assert disposition.qa_signature.meaning == "QA rejection"
    assert fresh(scene.batch).status == BatchStatus.REJECTED
    assert {i.released_at for i in bag_items(scene.batch)} == {None}


@pytest.mark.parametrize("who", ["manufacturing_tech", "other_qa", "physician"])
def test_only_the_facility_qa_decides(scene, who):
    ready_for_disposition(scene)
    actor = (
        UserFactory(role="qa_reviewer", organization=FacilityFactory())
        if who == "other_qa"
        else getattr(scene.team, who)
    )
    before = counts()

    with pytest.raises(PermissionDenied):
        decide(scene, Disposition.RELEASE, actor=actor, expires_at=expiry())

    assert counts() == before


def test_the_disposition_is_decided_once(scene):
    ready_for_disposition(scene)
    decide(scene, Disposition.RELEASE, expires_at=expiry())

    with pytest.raises(PermissionDenied):
        decide(scene, Disposition.REJECT, reason="Second thoughts.")


# ---------- the physician's acknowledgement ----------


@pytest.fixture
def exception(scene):
    ready_for_disposition(scene, **{K.VIABILITY: FAILING_VIABILITY})
    decide(scene, Disposition.RELEASE_EXCEPTION, reason="No alternative.", expires_at=expiry())
    return scene


def test_the_treating_physician_acknowledges_and_the_product_is_released(exception):
    scene = exception

    disposition = release_services.acknowledge_exception(
        fresh(scene.batch), password=TEST_PASSWORD, actor=scene.team.physician
    )

    signature = disposition.physician_ack_signature
    assert (signature.printed_name, signature.meaning) == (
        scene.team.physician.printed_name,
        "Release under exception acknowledged by treating physician",
    )
    assert {i.released_at for i in bag_items(scene.batch)} == {
        disposition.physician_acknowledged_at
    }
    assert fresh(scene.batch).status == BatchStatus.RELEASED_EXCEPTION
    assert release_services.signature_valid(disposition, disposition.qa_signature)


@pytest.mark.parametrize("who", ["other_physician", "navigator", "qa_reviewer"])
def test_only_a_treating_physician_of_the_center_acknowledges(exception, who):
    scene = exception
    actor = (
        UserFactory(role="physician", organization=CenterFactory())
        if who == "other_physician"
        else getattr(scene.team, who)
    )
    before = counts()

    with pytest.raises(PermissionDenied):
        release_services.acknowledge_exception(
            fresh(scene.batch), password=TEST_PASSWORD, actor=actor
        )

    assert counts() == before


def test_an_acknowledgement_with_a_wrong_password_writes_nothing(exception):
    scene = exception
    before = counts()

    with pytest.raises(InvalidInput) as refused:
        release_services.acknowledge_exception(
            fresh(scene.batch), password="wrong", actor=scene.team.physician
        )

    assert list(refused.value.errors) == ["password"]
    assert counts() == before


def test_there_is_nothing_to_acknowledge_after_a_plain_release(scene):
    ready_for_disposition(scene)
    decide(scene, Disposition.RELEASE, expires_at=expiry())

    with pytest.raises(PermissionDenied):
        release_services.acknowledge_exception(
            fresh(scene.batch), password=TEST_PASSWORD, actor=scene.team.physician
        )


# ---------- the center's scan of a bag ----------


def scan_at_center(scene: Scene, item: Item):
    return record_scan(
        ScanRequest(
            coi_din=scene.batch.coi_din,
            step=HandoffStep.PRODUCT_RECEIVED,
            scanned_text=item.item_id,
        ),
        actor=scene.team.pharmacist,
        organization=scene.team.center,
    )


def test_a_released_bag_scans_as_released_at_the_center(scene):
    ready_for_disposition(scene)
    decide(scene, Disposition.RELEASE, expires_at=expiry())

    event = scan_at_center(scene, bag_items(scene.batch)[0])

    assert event.result == ScanResult.MATCH


def test_an_unreleased_bag_is_refused_at_the_center(scene):
    formulate(scene)

    event = scan_at_center(scene, bag_items(scene.batch)[0])

    assert event.result == ScanResult.NOT_RELEASED


def test_a_bag_awaiting_the_physician_is_refused_at_the_center(exception):
    event = scan_at_center(exception, bag_items(exception.batch)[0])

    assert event.result == ScanResult.NOT_RELEASED


def test_an_expired_bag_is_refused_at_the_center(scene):
    ready_for_disposition(scene)
    decide(scene, Disposition.RELEASE, expires_at=expiry())
    item = bag_items(scene.batch)[0]
    Item.objects.filter(pk=item.pk).update(expires_at=timezone.now() - dt.timedelta(hours=1))

    event = scan_at_center(scene, item)

    assert event.result == ScanResult.EXPIRED
