from django.apps import AppConfig


class JourneyConfig(AppConfig):
    name = "tilcare.journey"
    label = "journey"
    verbose_name = "Patient journey"

    def ready(self) -> None:
        # A rejected batch asks the treating physician to choose re-manufacture or withdrawal,
        # whichever path rejected it; manufacturing cannot import the journey, so it is told here.
        from tilcare.identity import selectors as identity_selectors
        from tilcare.journey import selectors
        from tilcare.journey.services import release
        from tilcare.manufacturing import batch_events

        batch_events.on_batch_rejected(release.hear_rejection)
        # A COI identifier belongs to the center whose journey carries it; identity and
        # manufacturing ask through this lookup before they take a COI from a center's user.
        identity_selectors.on_coi_issuer_lookup(selectors.center_of_coi)
