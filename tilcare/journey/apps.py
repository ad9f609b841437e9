from django.apps import AppConfig


class JourneyConfig(AppConfig):
    name = "tilcare.journey"
    label = "journey"
    verbose_name = "Patient journey"

    def ready(self) -> None:
        from tilcare.identity import selectors as identity_selectors
        from tilcare.journey import selectors

        # A COI identifier belongs to the center whose journey carries it; identity and
        # manufacturing ask through this lookup before they take a COI from a center's user.
        identity_selectors.on_coi_issuer_lookup(selectors.center_of_coi)
