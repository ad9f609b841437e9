"""The treatment pages' forms, one module per part: the protocol settings (`settings`), the
orders (`orders`), the infusion day (`infusion`) and IL-2 dose by dose (`il2`)."""

from tilcare.treatment.forms.il2 import Il2AssessForm, Il2DecideForm
from tilcare.treatment.forms.infusion import (
    BedsideScanForm,
    EndInfusionForm,
    PremedicationForm,
    StartInfusionForm,
    ThawForm,
)
from tilcare.treatment.forms.orders import (
    AdministrationForm,
    CancelOrderForm,
    FilgrastimStopForm,
    ReorderForm,
)
from tilcare.treatment.forms.settings import (
    AMOUNT_SUFFIX,
    DiscardForm,
    ProtocolSettingsForm,
    SignForm,
    decimal_or_text,
    option_words,
)

__all__ = [
    "AMOUNT_SUFFIX",
    "AdministrationForm",
    "BedsideScanForm",
    "CancelOrderForm",
    "DiscardForm",
    "EndInfusionForm",
    "FilgrastimStopForm",
    "Il2AssessForm",
    "Il2DecideForm",
    "PremedicationForm",
    "ProtocolSettingsForm",
    "ReorderForm",
    "SignForm",
    "StartInfusionForm",
    "ThawForm",
    "decimal_or_text",
    "option_words",
]
