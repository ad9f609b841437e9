from django.apps import AppConfig


class JourneyConfig(AppConfig):
    name = "tilcare.journey"
    label = "journey"
    verbose_name = "Patient journey"

    def ready(self) -> None:
        # A rejected batch asks the treating physician to choose re-manufacture or withdrawal,
        # whichever path rejected it; manufacturing cannot import the journey, so it is told here.
        from tilcare.journey import release
        from tilcare.manufacturing import batch_events

        batch_events.on_batch_rejected(release.hear_rejection)
