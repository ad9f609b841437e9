"""A demo journey's treatment course, replayed through the services at the times it happened.

From the lymphodepletion order to the last IL-2 dose, each step is done by the person whose job
it is, with the clock replayed to its moment (`clock.replayed_clock`): the pharmacist's
verification is signed then, each dose is recorded after it, the bedside check, the thaw, the
start and the end of the infusion, each IL-2 assessment (a nurse) and decision (a physician,
another person) carry their own time. Every order keeps the signed settings version it was
computed on, so each dose traces back to them.

The course follows the lifileucel path on the demo's schedule (`people.STAGE_DAY`): the
lymphodepletion order written and verified the day before admission, one dose a day from
Day −7 to Day −1 at 09:00, the infusion on Day 0 from 10:00 (its window opens 24 h after the last
fludarabine dose), IL-2 from 3 h after the infusion's end, one dose every 8 h 5 min. A course
still under way when the demo is built keeps its day numbers: when its latest step would still be
to come, the steps from the last fludarabine dose on happen earlier that many hours, and never
later than a few minutes before the build.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tilcare.accounts.choices import Role
from tilcare.core.timeutil import day_start, local_moment
from tilcare.demo.clock import replayed_clock
from tilcare.demo.people import DEMO_PASSWORD, STAGE_DAY
from tilcare.identity.choices import ItemKind
from tilcare.identity.models import Item
from tilcare.journey.choices import Stage
from tilcare.treatment.choices import AdministrationOutcome, Il2Choice, OrderKind
from tilcare.treatment.models import Infusion, Order, OrderDose
from tilcare.treatment.selectors import infusion_of_course, next_slot, open_order
from tilcare.treatment.services.administrations import record_administration
from tilcare.treatment.services.bedside import (
    record_bedside_scan,
    record_premedication,
    record_thaw,
)
from tilcare.treatment.services.il2 import assess_il2_dose, decide_il2_dose
from tilcare.treatment.services.infusion import end_infusion, open_infusion, start_infusion
from tilcare.treatment.services.orders import verify_order

if TYPE_CHECKING:
    from tilcare.demo.builder import _Walk

MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
DAY_ZERO = STAGE_DAY[Stage.INFUSION]
# A step "today" happens at the latest this long before the build.
BEFORE_BUILD = dt.timedelta(minutes=5)

# The infusion day, on the center's clocks (hour, minute) of Day 0.
INFUSION_DAY = {
    "open": (10, 20),
    "acetaminophen": (10, 30),
    "H1 antihistamine": (10, 35),
    "check_1": (10, 40),
    "check_2": (10, 50),
    "thaw_1": (10, 55),
    "thaw_2": (11, 0),
    "start": (11, 15),
    "end": (11, 45),
    "il2_order": (12, 0),
    "il2_verify": (12, 15),
}
LYMPHODEPLETION_DOSE_AT = (9, 0)
PREMEDICATIONS = (
    ("acetaminophen", "acetaminophen", "650", "PO"),
    ("H1 antihistamine", "diphenhydramine", "25", "IV"),
)
# The cells infused: both bags, the dose the facility's certificate gives (`chain.BAGS`).
VIABLE_CELLS_E9 = "23.5"
# IL-2: the first dose 3 h 5 min after the infusion's end, then one every 8 h 5 min; each dose
# assessed 10 min and decided 5 min before it is given.
FIRST_IL2_AFTER_END = 3 * HOUR + 5 * MINUTE
IL2_EVERY = 8 * HOUR + 5 * MINUTE
ASSESSED_BEFORE = 10 * MINUTE
DECIDED_BEFORE = 5 * MINUTE

# What the nurse reads before an IL-2 dose when all is well: every observation the lifileucel
# rule sets (Dutcher 2014, Betof Warner 2024) read, none meeting a hold or stop criterion.
NORMAL_OBSERVATIONS: dict[str, str] = {
    "sinus_rhythm": "yes",
    "heart_rate_per_min": "92",
    "tachycardia_persisting_after_correction": "no",
    "ecg_ischemia": "no",
    "atrial_fibrillation": "no",
    "supraventricular_tachycardia": "no",
    "ventricular_arrhythmia": "no",
    "ck_mb_elevated": "no",
    "troponin_elevated": "no",
    "moist_desquamation": "no",
    "diarrhea_ml_per_shift": "150",
    "diarrhea_1000_ml_per_shift_on_two_shifts": "no",
    "ileus_or_abdominal_distension": "no",
    "bilirubin_mg_per_dl": "0.9",
    "vomiting_not_responsive_to_medication": "no",
    "severe_abdominal_distension_affecting_breathing": "no",
    "severe_unrelenting_abdominal_pain": "no",
    "phenylephrine_max_ug_per_kg_per_min": "0",
    "phenylephrine_min_ug_per_kg_per_min": "0",
    "heme_positive_sputum_emesis_or_stool": "no",
    "frank_blood_in_sputum_emesis_or_stool": "no",
    "platelets_per_mm3": "142000",
    "strong_clinical_suspicion_of_infection": "no",
    "documented_infection": "no",
    "weight_gain_percent": "2.1",
    "extreme_tightness": "no",
    "extreme_paresthesias": "no",
    "vivid_dreams": "no",
    "mild_anxiety": "no",
    "hallucinations": "no",
    "persistent_crying": "no",
    "mental_status_changes_not_reversible_within_2_h": "no",
    "unable_to_subtract_serial_7s": "no",
    "unable_to_spell_world_backward": "no",
    "resting_shortness_of_breath": "no",
    "nasal_cannula_o2_l_per_min": "0",
    "mask_o2_percent": "0",
    "rales_one_third_up_chest": "no",
    "moist_rales_half_up_chest": "no",
    "intubation": "no",
    "urine_output_ml_per_shift": "960",
    "serum_creatinine_mg_per_dl": "1.1",
    "bicarbonate_meq_per_l": "24",
    "hypotension_persisting_despite_fluids": "no",
    "urine_output_persistently_low_despite_boluses": "no",
    "urine_output_ml_per_kg_per_h_over_8h": "1.4",
    "creatinine_clearance_persistently_low": "no",
}


@dataclass(frozen=True)
class Il2Step:
    """What happens at one IL-2 dose: the physician's choice, the readings that differ from
    normal, and the physician's note."""

    choice: Il2Choice
    readings: Mapping[str, str]
    note: str = ""


GIVE = Il2Step(Il2Choice.GIVE, {})
# The Betof Warner hold: urine output below 0.5 mL/kg/h over 8 h.
LOW_URINE = Il2Step(
    Il2Choice.HOLD,
    {"urine_output_ml_per_kg_per_h_over_8h": "0.3", "urine_output_ml_per_shift": "190"},
    "Oliguric over the last 8 h: 500 mL NS bolus, reassess before the next dose.",
)
# The Betof Warner hold: serum creatinine 2.5 to 2.9 mg/dL.
CREATININE_HOLD = Il2Step(
    Il2Choice.HOLD,
    {"serum_creatinine_mg_per_dl": "2.6"},
    "Creatinine 2.6 mg/dL: hold this dose, recheck before the next.",
)
# The stop criterion: serum creatinine 3 mg/dL or more.
CREATININE_STOP = Il2Step(
    Il2Choice.STOP,
    {"serum_creatinine_mg_per_dl": "3.1"},
    "Creatinine 3.1 mg/dL: IL-2 stopped for this course; nephrology consulted.",
)

# The IL-2 doses of a course, by the stage the journey has reached at the build.
IL2_COURSE: dict[Stage, tuple[Il2Step, ...]] = {
    # Doses 1 and 2 given, dose 3 held; dose 4 still to come.
    Stage.IL2: (GIVE, GIVE, LOW_URINE),
    # Doses 1 to 3 given, dose 4 assessed and IL-2 stopped.
    Stage.INPATIENT_RECOVERY: (GIVE, GIVE, GIVE, CREATININE_STOP),
    # The course complete: six doses, the fourth held.
    Stage.FOLLOW_UP: (GIVE, GIVE, GIVE, CREATININE_HOLD, GIVE, GIVE),
}


class TreatmentCourse:
    """The steps of one walk's treatment course, each replayed at its moment."""

    def __init__(self, walk: _Walk) -> None:
        self.walk = walk
        self.center = walk.center
        self.final = walk.spec.stage
        # The latest moment a step may have happened: a few minutes before the build, never
        # before the center's today began.
        self.limit = max(walk.now - BEFORE_BUILD, day_start(self.center, walk.center_today))
        self.early = self._early()

    # ---------- when ----------

    def planned(self, offset: int, hour: int, minute: int = 0) -> dt.datetime:
        """`hour:minute` on the center's clocks, `offset` days after referral, as planned."""
        return local_moment(self.center, self.walk.day(offset), dt.time(hour, minute))

    def day_zero(self, step: str) -> dt.datetime:
        return self.planned(DAY_ZERO, *INFUSION_DAY[step])

    def il2_slot(self, number: int) -> dt.datetime:
        """When IL-2 dose `number` is given, as planned."""
        return self.day_zero("end") + FIRST_IL2_AFTER_END + (number - 1) * IL2_EVERY

    def _early(self) -> dt.timedelta:
        """How much earlier than planned the steps from the last fludarabine dose on happened,
        so that the latest of a course still under way is already past at the build."""
        if self.final == Stage.INFUSION:
            latest = self.day_zero("check_1")
        elif self.final == Stage.IL2:
            latest = self.il2_slot(len(IL2_COURSE[Stage.IL2])) - DECIDED_BEFORE
        else:
            return dt.timedelta(0)
        early = max(dt.timedelta(0), latest - self.limit)
        # The journey entered infusion on Day 0: never before that day began.
        entered = self.planned(DAY_ZERO, 10, 0)
        return min(early, entered - day_start(self.center, self.walk.day(DAY_ZERO)))

    def late(self, planned: dt.datetime) -> dt.datetime:
        """When a step of the course from the last fludarabine dose on happened."""
        return min(planned - self.early, self.limit)

    def infusion_entered(self) -> dt.datetime:
        """When the journey moved into infusion on Day 0 (24 h or more after the last
        fludarabine dose)."""
        return self.late(self.planned(DAY_ZERO, 10, 0))

    # ---------- lymphodepletion ----------

    def verify(self, order: Order, at: dt.datetime) -> None:
        with replayed_clock(at):
            verify_order(order, actor=self.walk.cast[Role.PHARMACIST], password=DEMO_PASSWORD)

    def lymphodepletion_doses(self) -> None:
        """The nurse gives each dose on its day, before the center's today (a dose of today is
        still to give)."""
        walk = self.walk
        order = open_order(
            walk.journey.coi_din, walk.journey.manufacture_attempt, OrderKind.LYMPHODEPLETION
        )
        assert order is not None
        doses = list(order.doses.order_by("sequence"))
        last = doses[-1]
        for dose in doses:
            assert dose.day is not None
            offset = DAY_ZERO + dose.day
            if offset >= walk.today():
                break
            at = self.planned(offset, *LYMPHODEPLETION_DOSE_AT)
            if dose.pk == last.pk:
                at = self.late(at)
            self.give(dose, at, Role.NURSE)

    def give(self, dose: OrderDose, at: dt.datetime, role: Role) -> None:
        with replayed_clock(at):
            record_administration(
                dose, outcome=AdministrationOutcome.GIVEN, at=at, actor=self.walk.cast[role]
            )

    # ---------- the infusion day ----------

    def infusion_day(self) -> Infusion:
        """The checklist opened by the nurse and her identity check; for a course past Day 0,
        the physician's check, the premedication, the thaw, the start and the end, and the IL-2
        order written and verified."""
        walk = self.walk
        nurse = walk.cast[Role.NURSE]
        with replayed_clock(self.late(self.day_zero("open"))):
            infusion = open_infusion(walk.course(), actor=nurse)
        self.identity_check(infusion, "check_1", Role.NURSE)
        if self.final == Stage.INFUSION:
            return infusion
        for group, agent, dose, route in PREMEDICATIONS:
            at = self.late(self.day_zero(group))
            with replayed_clock(at):
                record_premedication(
                    infusion, group=group, agent=agent, dose=dose, route=route, at=at, actor=nurse
                )
        self.identity_check(infusion, "check_2", Role.PHYSICIAN)
        bags = Item.objects.filter(
            coi_din=walk.journey.coi_din,
            manufacture_attempt=walk.journey.manufacture_attempt,
            kind=ItemKind.PRODUCT_BAG,
        ).order_by("number")
        for n, bag in enumerate(bags, start=1):
            at = self.late(self.day_zero(f"thaw_{n}"))
            with replayed_clock(at):
                record_thaw(infusion, item_id=bag.item_id, thawed_at=at, actor=nurse)
        at = self.late(self.day_zero("start"))
        with replayed_clock(at):
            infusion = start_infusion(infusion, at=at, actor=nurse)
        at = self.late(self.day_zero("end"))
        with replayed_clock(at):
            infusion = end_infusion(
                infusion,
                at=at,
                bags_infused=bags.count(),
                viable_cells_e9=VIABLE_CELLS_E9,
                note="Both bags infused over 30 minutes; no infusion reaction.",
                actor=nurse,
            )
        with replayed_clock(self.late(self.day_zero("il2_order"))):
            order = walk.order(OrderKind.IL2)
        self.verify(order, self.late(self.day_zero("il2_verify")))
        return infusion

    def identity_check(self, infusion: Infusion, step: str, role: Role) -> None:
        """One person scans the wristband, then every bag."""
        journey, person = self.walk.journey, self.walk.cast[role]
        with replayed_clock(self.late(self.day_zero(step))):
            record_bedside_scan(
                infusion,
                target="wristband",
                scanned_text=f"{journey.coi_din}{journey.coi_check}",
                actor=person,
            )
            for bag in Item.objects.filter(
                coi_din=journey.coi_din,
                manufacture_attempt=journey.manufacture_attempt,
                kind=ItemKind.PRODUCT_BAG,
            ).order_by("number"):
                record_bedside_scan(infusion, target="bag", scanned_text=bag.item_id, actor=person)

    # ---------- IL-2 ----------

    def il2_doses(self) -> None:
        """Each IL-2 dose of the course: the nurse assesses, the physician decides, the nurse
        gives it (a hold or a stop is recorded by the decision)."""
        walk = self.walk
        steps = IL2_COURSE.get(self.final, IL2_COURSE[Stage.FOLLOW_UP])
        order = open_order(walk.journey.coi_din, walk.journey.manufacture_attempt, OrderKind.IL2)
        assert order is not None
        assert infusion_of_course(walk.journey.coi_din, walk.journey.manufacture_attempt)
        nurse, physician = walk.cast[Role.NURSE], walk.cast[Role.PHYSICIAN]
        for number, step in enumerate(steps, start=1):
            slot = self.il2_slot(number)
            assessed = self.late(slot - ASSESSED_BEFORE)
            with replayed_clock(assessed):
                decision = assess_il2_dose(
                    order,
                    observations={**NORMAL_OBSERVATIONS, **step.readings},
                    choice=step.choice,
                    at=assessed,
                    actor=nurse,
                )
            with replayed_clock(self.late(slot - DECIDED_BEFORE)):
                decide_il2_dose(decision, choice=step.choice, note=step.note, actor=physician)
            if step.choice == Il2Choice.GIVE:
                dose = next_slot(order)
                assert dose is not None and dose.pk == decision.dose_id
                self.give(dose, self.late(slot), Role.NURSE)
