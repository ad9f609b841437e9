"""Treatment tables, one module per sub-domain: protocol activation, orders and their doses, the
infusion day, and the IL-2 dose decisions."""

from tilcare.treatment.models.activation import ProtocolActivation
from tilcare.treatment.models.il2 import Il2Decision
from tilcare.treatment.models.infusion import BagThaw, BedsideScan, Infusion, Premedication
from tilcare.treatment.models.orders import Administration, Order, OrderDose

__all__ = [
    "Administration",
    "BagThaw",
    "BedsideScan",
    "Il2Decision",
    "Infusion",
    "Order",
    "OrderDose",
    "Premedication",
    "ProtocolActivation",
]
