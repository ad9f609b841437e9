"""The journey page's actions: each POST calls exactly one service.

On success the browser is sent back to the journey page with a message (post/redirect/get, so a
reload never repeats the action). Refused input (InvalidInput) re-renders the page with the bound
form and its field messages; a blocked move (TransitionBlocked) goes back to the page with each
reason as an error message at the top. A service's PermissionDenied becomes the 403 page
(core.http.DeniedActionMiddleware); a journey outside the user's scope is 404.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tilcare.accounts.models import User
from tilcare.accounts.roles import Perm
from tilcare.core.errors import InvalidInput, TransitionBlocked
from tilcare.core.forms import apply_service_errors
from tilcare.core.http import get_visible_or_404
from tilcare.core.policy import require
from tilcare.core.timeutil import age_in_years, local_today
from tilcare.journey import policies, services
from tilcare.journey.choices import MilestoneKind, Stage, TransitionKind, transition_kind
from tilcare.journey.forms import (
    AdvanceForm,
    EligibilityAmendForm,
    EligibilityForm,
    FacilityChangeForm,
    JourneyOpenForm,
    MilestoneForm,
    MilestoneVoidForm,
    PlanForm,
    SignForm,
    WithdrawForm,
)
from tilcare.journey.models import EligibilityChecklist, Journey
from tilcare.journey.views.common import (
    back_to_journey,
    htmx_target,
    journey_of,
    journey_url,
    local_time,
    safe_next,
    task_of,
    user_of,
)
from tilcare.journey.views.detail import render_detail, tasks_context
from tilcare.journey.views.tasks import task_row
from tilcare.patients import selectors as patient_selectors
from tilcare.patients.models import Patient

# ---------- Opening a journey ----------


@require_http_methods(["GET", "POST"])
def journey_open(request: HttpRequest, patient_public_id: Any) -> HttpResponse:
    user = user_of(request)
    patient: Patient = get_visible_or_404(
        patient_selectors.visible_to(user).select_related("center"), patient_public_id
    )
    require(policies.can_create_journey(user, patient), "You may not open journeys at this center.")
    today = local_today(patient.center.time_zone)
    form = JourneyOpenForm(
        request.POST or None,
        today=today,
        born=patient.date_of_birth,
        initial={"referred_on": today},
    )
    if request.method == "POST" and form.is_valid():
        try:
            journey = services.open_journey(patient, actor=user, **form.cleaned_data)
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(
                request,
                f"Journey opened. Chain-of-identity number {journey.coi_display}: "
                "use it on every label for this course of therapy.",
            )
            return back_to_journey(journey)
    open_journey = patient.journeys.exclude(stage__in=[Stage.COMPLETED, Stage.WITHDRAWN]).first()
    return render(
        request,
        "journey/journey_open.html",
        {
            "page_title": f"Open a journey for {patient.full_name}",
            "patient": patient,
            "age": age_in_years(patient.date_of_birth, today),
            "form": form,
            "open_journey": open_journey,
            "missing_fin": not patient.center.isbt_fin,
        },
    )


# ---------- Moving the journey ----------


def _blocked(request: HttpRequest, journey: Journey, error: TransitionBlocked) -> HttpResponse:
    for reason in error.reasons:
        messages.error(request, reason)
    return back_to_journey(journey, "next-steps")


@require_POST
def journey_advance(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST to_stage (a Stage value) and, for a re-manufacture, reason."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    stage = request.POST.get("to_stage", "")
    stage = stage if stage in Stage.values else "unknown"
    # Each move on the page is its own <form>; the ids keep their labels apart.
    form = AdvanceForm(request.POST, auto_id=f"id_step_{stage}_%s")
    if form.is_valid():
        target = Stage(form.cleaned_data["to_stage"])
        reason = form.cleaned_data["reason"]
        write = partial(services.advance, journey, target, actor=user, reason=reason)

        def moved(_: object) -> str:
            if transition_kind(Stage(journey.stage), target) == TransitionKind.REMANUFACTURE:
                return (
                    "Re-manufacture started: the journey is back at “Resection scheduled” "
                    "for a new manufacturing attempt."
                )
            return f"Moved to “{target.label}”."

        if saved := _saved(request, form, write, moved, journey, ""):
            return saved
    return render_detail(request, journey, step_form=(stage, form))


@require_POST
def journey_withdraw(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST withdrawal_reason (a WithdrawalReason value) and reason (required for "other")."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    require(
        policies.can_advance_journey(user, journey, Stage.WITHDRAWN),
        "You may not withdraw this journey.",
    )
    form = WithdrawForm(request.POST, prefix="withdraw")
    if form.is_valid():
        write = partial(
            services.advance,
            journey,
            Stage.WITHDRAWN,
            actor=user,
            reason=form.cleaned_data["reason"],
            withdrawal_reason=form.cleaned_data["withdrawal_reason"],
        )
        withdrawn = "The journey is withdrawn. Its open tasks are cancelled."
        if saved := _saved(request, form, write, withdrawn, journey, ""):
            return saved
    return render_detail(request, journey, withdraw_form=form, withdraw_open=True)


# ---------- Milestones ----------


@require_POST
def milestone_record(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST kind, occurred_at (local date-time of the center), reference, note."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    kinds = [k for k in MilestoneKind if policies.can_record_milestone(user, journey, k)]
    require(bool(kinds), "You may not record milestones on this journey.")
    with local_time(journey.center.time_zone):
        form = MilestoneForm(request.POST, prefix="milestone", kinds=kinds)
        valid = form.is_valid()
    if valid:
        write = partial(services.record_milestone, journey, actor=user, **form.cleaned_data)

        def recorded(milestone: Any) -> str:
            return f"Recorded: {milestone.get_kind_display()}."

        if saved := _saved(request, form, write, recorded, journey, "milestones"):
            return saved
    return render_detail(request, journey, milestone_form=form, milestone_open=True)


@require_POST
def milestone_void(request: HttpRequest, public_id: Any, milestone_id: int) -> HttpResponse:
    """POST reason. The milestone is looked up inside the (visible) journey only."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    milestone = journey.milestones.filter(pk=milestone_id).first()
    if milestone is None:
        raise Http404("Not found")
    form = MilestoneVoidForm(request.POST, prefix="void", auto_id=f"id_void_{milestone.pk}_%s")
    if form.is_valid():
        reason = form.cleaned_data["reason"]
        write = partial(services.void_milestone, milestone, actor=user, reason=reason)
        void = f"{milestone.get_kind_display()} is void. It stays in the list, struck through."
        if saved := _saved(request, form, write, void, journey, "milestones"):
            return saved
    return render_detail(request, journey, void_form=(milestone.pk, form))


# ---------- Plan and eligibility ----------


@require_POST
def journey_plan(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST planned_resection_on, planned_infusion_on (YYYY-MM-DD or empty), and
    manufacturing_facility (a facility's id or empty)."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    require(policies.can_plan_journey(user, journey), "You may not change this journey's plan.")
    form = PlanForm(request.POST, prefix="plan", journey=journey)
    if form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, "The plan is unchanged, so nothing was saved.")
            return back_to_journey(journey, "plan")
        write = partial(services.plan_journey, journey, actor=user, changes=changes)
        if saved := _saved(request, form, write, "Plan saved.", journey, "plan"):
            return saved
    return render_detail(request, journey, plan_form=form)


def _saved(
    request: HttpRequest,
    form: Any,
    write: Callable[[], Any],
    success: str | Callable[[Any], str],
    journey: Journey,
    anchor: str = "eligibility",
    *,
    say: Callable[[HttpRequest, str], None] = messages.success,
) -> HttpResponse | None:
    """Back to the journey's `anchor` with `success` said (a text, or made from what `write`
    returned) once `write` is done; None, with the service's refusal shown on `form`, when it
    refuses. A blocked move goes back to the next steps with each reason."""
    try:
        written = write()
    except TransitionBlocked as exc:
        return _blocked(request, journey, exc)
    except InvalidInput as exc:
        apply_service_errors(form, exc)
        return None
    say(request, success if isinstance(success, str) else success(written))
    return back_to_journey(journey, anchor)


@require_POST
def journey_facility_change(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST manufacturing_facility (a facility's id) and reason: manufacturing moves to another
    facility once the tissue is on its way, as its own audited change."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    require(
        policies.can_change_facility(user, journey),
        "Your role may not change the manufacturing facility of this journey.",
    )
    previous = journey.manufacturing_facility
    form = FacilityChangeForm(request.POST, prefix="facility", journey=journey)
    if form.is_valid():
        facility = form.cleaned_data["manufacturing_facility"]
        write = partial(
            services.change_manufacturing_facility,
            journey,
            actor=user,
            facility=facility,
            reason=form.cleaned_data["reason"],
        )
        gone = f" {previous.name} no longer sees this journey." if previous else ""
        changed = (
            f"Manufacturing facility changed to {facility.name}; the reason is kept in the "
            f"audit trail.{gone}"
        )
        if saved := _saved(request, form, write, changed, journey, "plan"):
            return saved
    return render_detail(request, journey, facility_form=form)


def _checklist_to_edit(
    request: HttpRequest, public_id: Any
) -> tuple[User, Journey, EligibilityChecklist | None]:
    """The user, the journey and its checklist (None before the first save), once the user may
    edit the checklist."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    require(policies.can_edit_eligibility(user, journey), services.ELIGIBILITY_EDIT_REFUSED)
    return user, journey, EligibilityChecklist.objects.filter(journey=journey).first()


@require_POST
def eligibility_save(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST each criterion ("false", then "on" when met: see forms.SentCheckbox), ecog (0–5 or
    empty), notes. Every field must be sent; a signed checklist is changed only by amending it."""
    user, journey, checklist = _checklist_to_edit(request, public_id)
    form = EligibilityForm(request.POST, prefix="eligibility", checklist=checklist)
    if form.is_valid():
        if not form.changed_content():
            messages.info(request, "The checklist is unchanged, so nothing was saved.")
            return back_to_journey(journey, "eligibility")
        data = form.data_for_service()
        write = partial(services.save_eligibility, journey, actor=user, data=data)
        if saved := _saved(request, form, write, "Eligibility checklist saved.", journey):
            return saved
    return render_detail(request, journey, eligibility_form=form)


@require_POST
def eligibility_amend(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST every field of the checklist (as for saving) and reason: amends a signed checklist,
    voiding its signature."""
    user, journey, checklist = _checklist_to_edit(request, public_id)
    form = EligibilityAmendForm(request.POST, prefix="amend", checklist=checklist)
    if form.is_valid():
        write = partial(
            services.amend_eligibility,
            journey,
            actor=user,
            data=form.data_for_service(),
            reason=form.cleaned_data["reason"],
        )
        amended = (
            "Checklist amended and its signature voided. A physician must review and sign it "
            "again before anything that needs the signed checklist can go ahead."
        )
        if saved := _saved(request, form, write, amended, journey, say=messages.warning):
            return saved
    return render_detail(request, journey, amend_form=form)


@require_POST
def eligibility_sign(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST password (the signer's own, re-entered)."""
    user = user_of(request)
    journey = journey_of(request, public_id)
    require(
        policies.can_sign_eligibility(user, journey),
        "Only a treating physician of this center may sign eligibility.",
    )
    form = SignForm(request.POST, prefix="sign")
    if form.is_valid():
        password = form.cleaned_data["password"]
        write = partial(services.sign_eligibility, journey, actor=user, password=password)
        if saved := _saved(request, form, write, "Eligibility checklist signed.", journey):
            return saved
    return render_detail(request, journey, sign_form=form)


# ---------- Tasks ----------


@require_POST
def task_complete(request: HttpRequest, public_id: Any) -> HttpResponse:
    """POST (no fields; optional `next`). htmx gets back the piece it targeted."""
    user = user_of(request)
    task = task_of(request, public_id)
    journey = task.journey
    target = htmx_target(request)
    error = ""
    try:
        services.complete_task(task, actor=user)
    except InvalidInput as exc:
        error = " ".join(m for msgs in exc.errors.values() for m in msgs)
    task.refresh_from_db()
    tz = journey.center.time_zone
    if target == "journey-tasks":
        with local_time(tz):
            context = {
                "journey": journey,
                **tasks_context(user, journey, local_today(tz)),
                "tasks_message": error or f"Done: {task.title}",
                "tasks_message_level": "error" if error else "success",
            }
            return render(request, "journey/partials/_journey_tasks.html", context)
    if target and target.startswith("task-"):
        with local_time(tz):
            return render(
                request,
                "journey/partials/_task_row.html",
                {
                    "row": task_row(user, task, local_today(tz)),
                    "identity": user.has_perm_code(Perm.VIEW_PATIENT_IDENTITY),
                    "row_message": error,
                    "next_url": safe_next(request, ""),
                },
            )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Done: {task.title}")
    return redirect(safe_next(request, journey_url(journey, "journey-tasks")))
