"""Plain-language words for each stage of the journey, written for patients and caregivers.

Aimed at a grade 6–8 reading level: short sentences, everyday words, no abbreviations unexplained.
"""

from __future__ import annotations

from dataclasses import dataclass

from tilcare.journey.choices import Stage


@dataclass(frozen=True)
class StageText:
    title: str
    now: str
    next: str


STAGE_TEXT: dict[Stage, StageText] = {
    Stage.REFERRAL: StageText(
        "Getting to know you",
        "Your doctor has sent us your records. Your nurse navigator will call you to plan the first visits.",
        "Visits and tests to check that this treatment is right for you.",
    ),
    Stage.SCREENING: StageText(
        "Checking if this treatment fits you",
        "You will have tests of your heart, lungs, blood and scans. A doctor reviews them with you.",
        "Our financial team checks your insurance before surgery is planned.",
    ),
    Stage.FINANCIAL_CLEARANCE: StageText(
        "Checking insurance and support",
        "Our financial team is asking your insurance to approve the treatment. A social worker can help with travel, a place to stay and a caregiver plan.",
        "A surgeon will remove a small piece of tumor to grow your cells.",
    ),
    Stage.RESECTION_SCHEDULED: StageText(
        "Surgery is planned",
        "A surgeon will remove a piece of tumor, about the size of a grape or larger. Your own immune cells are inside it.",
        "The tumor piece goes to the lab that grows your cells.",
    ),
    Stage.TISSUE_PROCURED: StageText(
        "Your tumor piece is on its way",
        "The tumor piece is labelled with your personal number and sent to the lab.",
        "The lab grows your immune cells for about three weeks.",
    ),
    Stage.AT_MANUFACTURING: StageText(
        "The lab is growing your cells",
        "The lab picks the immune cells that fight your tumor best and grows them into billions. This takes about three weeks. Tell us right away if you feel worse while you wait.",
        "The lab tests your cells to make sure they are safe.",
    ),
    Stage.PRODUCT_RELEASED: StageText(
        "Your cells passed their tests",
        "Your cells are frozen and ready to ship to the hospital.",
        "Your cells arrive at the hospital and we plan your hospital stay.",
    ),
    Stage.PRODUCT_AT_CENTER: StageText(
        "Your cells are at the hospital",
        "Your cells are stored safely at the hospital. We are planning your hospital stay, which usually lasts one to three weeks.",
        "About one week of chemotherapy to make room for your new cells.",
    ),
    Stage.LYMPHODEPLETION: StageText(
        "Chemotherapy to prepare your body",
        "You get chemotherapy for about a week. It lowers your blood counts so your new cells can grow.",
        "You get your own cells back through a vein.",
    ),
    Stage.INFUSION: StageText(
        "Getting your cells back",
        "Two nurses check that the cells are yours. Then you get them through a vein. This is called Day 0.",
        "You get a medicine called IL-2 to help your cells grow.",
    ),
    Stage.IL2: StageText(
        "IL-2 medicine",
        "You get doses of IL-2 to help your new cells grow. It can cause fever, chills and low blood pressure. Your nurses check you closely before every dose.",
        "You stay in the hospital until your blood counts recover.",
    ),
    Stage.INPATIENT_RECOVERY: StageText(
        "Recovering in the hospital",
        "Your team watches your blood counts, your breathing, your kidneys and your blood pressure every day.",
        "You go home with a plan for check-ups.",
    ),
    Stage.FOLLOW_UP: StageText(
        "Home, with check-ups",
        "You are home. Come to your check-ups and scans. Report any fever, bleeding, trouble breathing or new symptoms right away.",
        "Regular visits and scans to see how the treatment worked.",
    ),
    Stage.COMPLETED: StageText(
        "Treatment course complete",
        "Your treatment course is complete. Your team will keep seeing you for long-term check-ups.",
        "Long-term check-ups with your team.",
    ),
    Stage.WITHDRAWN: StageText(
        "This treatment has stopped",
        "This treatment course has stopped. Your care team will talk with you about what comes next.",
        "Your care team will contact you.",
    ),
}
