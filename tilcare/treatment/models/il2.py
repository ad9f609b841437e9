"""IL-2 dose by dose: before each dose the nurse's assessment against the protocol's hold and
stop rule sets, and the treating physician's decision."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tilcare.core.models import TimeStampedModel
from tilcare.treatment.choices import Il2Choice, Il2DecisionStatus
from tilcare.treatment.models.orders import Order, OrderDose


class Il2Decision(TimeStampedModel):
    """The decision for one IL-2 dose of an order (its place among the protocol's doses).

    `observations` holds what was assessed (measurements as decimal text in the rule sets' units,
    findings as true or false; a blank is "not assessed", never "normal"), `evaluation` the
    clinical core's whole result over every rule set of the protocol (each fired rule with the
    value that fired it), and `window` the schedule's "allowed from … until …" at assessment."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="il2_decisions")
    dose = models.OneToOneField(OrderDose, on_delete=models.PROTECT, related_name="il2_decision")
    observations = models.JSONField(default=dict)
    evaluation = models.JSONField(default=dict)
    evaluated_decision = models.CharField(max_length=40)
    window = models.JSONField(default=dict)
    assessed_at = models.DateTimeField()
    nurse = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    nurse_choice = models.CharField(max_length=8, choices=Il2Choice.choices)
    nurse_note = models.TextField(blank=True)
    physician = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    physician_choice = models.CharField(max_length=8, choices=Il2Choice.choices, blank=True)
    physician_note = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=24,
        choices=Il2DecisionStatus.choices,
        default=Il2DecisionStatus.AWAITING_PHYSICIAN,
    )

    class Meta:
        ordering = ["order_id", "dose__sequence"]

    def __str__(self) -> str:
        return f"IL-2 dose {self.dose.sequence} decision"
