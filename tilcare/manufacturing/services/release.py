"""Every write of a batch's release: specifications, formulation, release tests, QA disposition.

- `set_release_specification` and `record_formulation`: in `services.formulation`.
- `record_release_test`: one result, judged against the facility's specification (refused while
  none is set, naming what to set) or, for the dose, the bags' total viable cells against the
  protocol's range (`clinical.dosing.cell_dose`). A recorded result is never replaced.
- `decide_disposition`: a QA reviewer signs release (every test passed), reject (a reason), or
  release under exception (a test failed; a reason). Release sets `released_at` and `expires_at`
  on each bag's item; the expiry is the facility's input (its stability data), never a default.
  An exception sets the expiry but leaves the product NOT released until
  `acknowledge_exception`, signed by a treating physician of the center.

Each signature re-asks the signer's password; a wrong one leaves nothing written. The journey is
not told here (this layer sits below it): `tilcare.journey.services.release` calls these
services and records what follows for the journey in the same transaction.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django.db import transaction
from django.utils import timezone

from tilcare.accounts.models import User
from tilcare.audit.actions import Action
from tilcare.audit.hashing import snapshot
from tilcare.audit.models import Signature
from tilcare.audit.services import Signable, record_written, sign_record, signature_is_valid
from tilcare.audit.times import audit_time
from tilcare.core.errors import InvalidInput
from tilcare.core.policy import require
from tilcare.core.validation import TextWords, check_text
from tilcare.identity.models import Item
from tilcare.identity.services.items import clean_expiry
from tilcare.manufacturing import policies
from tilcare.manufacturing.choices import BatchStatus, Disposition, ReleaseTestKind
from tilcare.manufacturing.models import (
    Batch,
    ProductBag,
    QaDisposition,
    ReleaseSpecification,
    ReleaseTest,
)
from tilcare.manufacturing.services.formulation import (
    TEXT_MAX,
    UNIT_MAX,
    Errors,
    batch_subject,
    check_moment,
    clean_number,
    dose_check,
    dose_specification,
    locked_batch,
    plain,
)
from tilcare.manufacturing.services.workflow import move_batch, step_time

__all__ = [
    "PHYSICIAN_ACK_MEANING",
    "QA_MEANINGS",
    "acknowledge_exception",
    "decide_disposition",
    "record_release_test",
    "signable",
]

Kind = ReleaseTestKind
QA_MEANINGS = {
    Disposition.RELEASE: "QA release",
    Disposition.RELEASE_EXCEPTION: "QA release under exception",
    Disposition.REJECT: "QA rejection",
}
PHYSICIAN_ACK_MEANING = "Release under exception acknowledged by treating physician"
REASON_MAX = 600
REQUIRED_TESTS: tuple[Kind, ...] = tuple(Kind)


def _same_text(result: str, expected: str) -> bool:
    return " ".join(result.split()).casefold() == " ".join(expected.split()).casefold()


def _judge(
    batch: Batch, test: Kind, value: Any, unit: str, text: str, errors: Errors
) -> tuple[str, Decimal | None, str, str, bool]:
    """(specification, result value, result unit, result text, passed) for one result."""
    if test == Kind.VIABLE_CELL_DOSE:
        check = dose_check(batch)
        if check is None:
            raise InvalidInput(
                {
                    "test": [
                        "Record the formulation (bags with their viable cells) first: the "
                        "dose is their total."
                    ]
                }
            )
        total = check.given.magnitude
        if value not in (None, "") and clean_number(value, "result_value", "Result", {}) != total:
            errors["result_value"] = [
                f"The dose is the bags' total, {plain(total)} cells; leave the result empty or "
                "correct the bags' counts in the formulation."
            ]
        if unit and unit != "cells":
            errors["unit"] = ["The dose is counted in cells."]
        return dose_specification(check), total, "cells", "", check.within_range
    spec = ReleaseSpecification.objects.filter(
        facility=batch.facility, protocol_id=batch.protocol_id, test=test
    ).first()
    if spec is None:
        raise InvalidInput(
            {
                "test": [
                    f"{test.label} has no specification for protocol {batch.protocol_id}: a QA "
                    f"reviewer of {batch.facility.name} must set it on the release "
                    "specifications page before this result can be judged."
                ]
            }
        )
    if spec.expected_text:
        if not text:
            errors["result_text"] = [f"Give the result as read, e.g. “{spec.expected_text}”."]
        elif len(text) > TEXT_MAX:
            errors["result_text"] = [f"At most {TEXT_MAX} characters (got {len(text)})."]
        if value not in (None, ""):
            errors["result_value"] = [f"{test.label} is pass/fail: give the result as text."]
        return spec.criterion, None, "", text, _same_text(text, spec.expected_text)
    number = clean_number(value, "result_value", "Result", errors)
    if number is None and "result_value" not in errors:
        errors["result_value"] = [f"Give the measured value in {spec.unit}."]
    if unit.casefold() != spec.unit.casefold():
        errors["unit"] = [
            f"Give the result in “{spec.unit}”, the specification's unit (got “{unit}”); "
            "results are not converted."
        ]
    if text:
        errors["result_text"] = [f"{test.label} is a measured value; leave the text empty."]
    passed = number is not None and (spec.minimum is None or number >= spec.minimum)
    passed = passed and (spec.maximum is None or cast(Decimal, number) <= spec.maximum)
    return spec.criterion, number, spec.unit, "", passed


def record_release_test(
    batch: Batch,
    *,
    test: str,
    tested_at: dt.datetime,
    actor: User,
    result_value: Any = None,
    result_text: str = "",
    unit: str = "",
) -> ReleaseTest:
    """Record and judge one release test result (the dose: the bags' total viable cells)."""
    require(
        policies.can_record_release_test(actor, batch),
        "Only this facility's technologists and QA reviewers record release tests, after the "
        "formulation and before the disposition.",
    )
    if test not in Kind.values:
        raise InvalidInput({"test": [f"Choose one of: {', '.join(Kind.values)}."]})
    kind = Kind(test)
    errors: Errors = {}
    unit = " ".join((unit or "").split())[: UNIT_MAX + 1]
    text = " ".join((result_text or "").split())
    check_moment(tested_at, "tested_at", not_before=batch.opened_at, errors=errors)
    judged = _judge(batch, kind, result_value, unit, text, errors)
    if errors:
        raise InvalidInput(errors)
    specification, value, result_unit, text, passed = judged
    with transaction.atomic():
        batch = locked_batch(batch)
        require(policies.can_record_release_test(actor, batch), "The batch can no longer change.")
        done = ReleaseTest.objects.filter(batch=batch, test=kind).first()
        if done is not None:
            raise InvalidInput(
                {
                    "test": [
                        f"{kind.label} is already recorded for this batch "
                        f"({'passed' if done.passed else 'failed'}); a recorded result is "
                        "not replaced. A failed result goes to QA's disposition."
                    ]
                }
            )
        result = ReleaseTest.objects.create(
            batch=batch,
            test=kind,
            specification=specification[:200],
            result_value=value,
            result_unit=result_unit,
            result_text=text,
            passed=passed,
            tested_at=tested_at,
            recorded_by=actor,
        )
        record_written(
            Action.RELEASE_TEST_RECORD,
            result,
            actor=actor,
            subject_id=batch_subject(batch),
            occurred_at=audit_time(result, tested_at),
        )
        if batch.status == BatchStatus.HARVESTED:
            move_batch(
                batch,
                BatchStatus.RELEASE_TESTING,
                actor=actor,
                reason=f"First release test recorded: {kind.label}.",
                occurred_at=step_time(batch, tested_at),
            )
    return result


# ---------- signatures on the disposition ----------


def signable(disposition: QaDisposition) -> Signable:
    """The disposition as `sign_record` takes it (its `signed_content` says what is covered)."""
    return cast(Signable, disposition)


def signature_valid(disposition: QaDisposition, signature: Signature | None) -> bool:
    return signature is not None and signature_is_valid(signature, signable(disposition))


def _set_items(batch: Batch, *, actor: User, **values: Any) -> None:
    """Write expiry or release onto each bag's identity item, audited under the COI."""
    item_ids = list(ProductBag.objects.filter(batch=batch).values_list("item_id", flat=True))
    for item in Item.objects.select_for_update().filter(item_id__in=item_ids).order_by("pk"):
        before = snapshot(item)
        for name, value in values.items():
            setattr(item, name, value)
        item.save(update_fields=[*values, "updated_at"])
        action = Action.ITEM_RELEASE if "released_at" in values else Action.ITEM_EXPIRY
        record_written(
            action,
            item,
            actor=actor,
            before=before,
            subject_id=batch_subject(batch),
        )


def _disposition_errors(
    batch: Batch, decision: str, reason: str, expires_at: Any
) -> tuple[Errors, dt.datetime | None]:
    errors: Errors = {}
    if decision not in Disposition.values:
        return {"decision": [f"Choose one of: {', '.join(Disposition.labels)}."]}, None
    required = "Say why the product is rejected." if decision == Disposition.REJECT else None
    check_text(errors, "reason", reason, max_length=REASON_MAX, words=TextWords(required=required))
    if decision == Disposition.REJECT:
        return errors, None
    results = {t.test: t for t in ReleaseTest.objects.filter(batch=batch)}
    missing = [k.label for k in REQUIRED_TESTS if k not in results]
    failed = [k.label for k in REQUIRED_TESTS if k in results and not results[k].passed]
    if missing:
        errors["decision"] = [
            f"Every release test must be recorded first; missing: {', '.join(missing)}."
        ]
    elif decision == Disposition.RELEASE and failed:
        errors["decision"] = [
            f"Failed: {', '.join(failed)}. Choose release under exception "
            "(with the treating physician's acknowledgement) or reject."
        ]
    elif decision == Disposition.RELEASE_EXCEPTION and not failed:
        errors["decision"] = ["Every release test passed: choose release."]
    if decision == Disposition.RELEASE_EXCEPTION and not reason:
        errors["reason"] = ["Say why the product is released although a test failed."]
    expiry = None
    if expires_at is None:
        errors["expires_at"] = [
            "Give the product's expiry date and time from the facility's "
            "stability data; there is no default."
        ]
    else:
        try:
            expiry = clean_expiry(expires_at, now=timezone.now())
        except InvalidInput as refused:
            errors.update(refused.errors)
    return errors, expiry


def decide_disposition(
    batch: Batch,
    *,
    decision: str,
    password: str,
    actor: User,
    reason: str = "",
    expires_at: dt.datetime | None = None,
) -> QaDisposition:
    """QA's signed decision on the batch; a release sets each bag's item released and dated."""
    require(
        policies.can_decide_disposition(actor, batch),
        "Only a QA reviewer of this facility decides the disposition, once, before the batch "
        "is closed.",
    )
    reason = " ".join((reason or "").split())
    errors, expiry = _disposition_errors(batch, decision, reason, expires_at)
    if errors:
        raise InvalidInput(errors)
    with transaction.atomic():
        batch = locked_batch(batch)
        require(policies.can_decide_disposition(actor, batch), "The disposition is decided.")
        if decision != Disposition.REJECT:
            _set_items(batch, actor=actor, expires_at=expiry)
        disposition = QaDisposition.objects.create(
            batch=batch,
            decision=decision,
            reason=reason,
            decided_at=timezone.now(),
            decided_by=actor,
        )
        disposition.qa_signature = sign_record(
            signable(disposition),
            actor=actor,
            password=password,
            meaning=QA_MEANINGS[Disposition(decision)],
            subject_id=batch_subject(batch),
        )
        disposition.save(update_fields=["qa_signature", "updated_at"])
        record_written(
            Action.DISPOSITION_DECIDE,
            disposition,
            actor=actor,
            reason=reason,
            subject_id=batch_subject(batch),
        )
        if decision == Disposition.RELEASE:
            _set_items(batch, actor=actor, released_at=disposition.decided_at)
            move_batch(batch, BatchStatus.RELEASED, actor=actor, reason="QA release.")
        elif decision == Disposition.REJECT:
            move_batch(batch, BatchStatus.REJECTED, actor=actor, reason=reason)
    return disposition


def acknowledge_exception(batch: Batch, *, password: str, actor: User) -> QaDisposition:
    """The treating physician's signed acknowledgement, which releases the product."""
    require(
        policies.can_acknowledge_exception(actor, batch),
        "Only a treating physician of the center acknowledges a release under exception, once.",
    )
    with transaction.atomic():
        batch = locked_batch(batch)
        disposition = QaDisposition.objects.select_for_update().get(batch=batch)
        require(policies.can_acknowledge_exception(actor, batch), "It is already acknowledged.")
        if not signature_valid(disposition, disposition.qa_signature):
            raise InvalidInput(
                {
                    "__all__": [
                        "The batch record changed after QA signed the "
                        "exception; QA must review and sign it again."
                    ]
                }
            )
        now = timezone.now()
        expired = Item.objects.filter(
            item_id__in=ProductBag.objects.filter(batch=batch).values("item_id"),
            expires_at__lte=now,
        ).values_list("item_id", flat=True)
        if expired:
            raise InvalidInput(
                {
                    "__all__": [
                        f"Expired: {', '.join(expired)}. An expired product cannot be released."
                    ]
                }
            )
        signature = sign_record(
            signable(disposition),
            actor=actor,
            password=password,
            meaning=PHYSICIAN_ACK_MEANING,
            subject_id=batch_subject(batch),
        )
        before = snapshot(disposition)
        disposition.physician_ack_signature = signature
        disposition.physician_acknowledged_at = signature.signed_at
        disposition.save(
            update_fields=["physician_ack_signature", "physician_acknowledged_at", "updated_at"]
        )
        record_written(
            Action.DISPOSITION_ACKNOWLEDGE,
            disposition,
            actor=actor,
            before=before,
            subject_id=batch_subject(batch),
        )
        _set_items(batch, actor=actor, released_at=signature.signed_at)
        move_batch(
            batch,
            BatchStatus.RELEASED_EXCEPTION,
            actor=actor,
            reason=f"Released under exception: {disposition.reason}",
        )
    return disposition
