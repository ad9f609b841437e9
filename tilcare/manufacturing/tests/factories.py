"""Manufacturing slots and bookings for tests.

- `SlotFactory(facility=...)`: a slot made directly (no audit event), starting SLOT_LEAD_DAYS days
  after today where the facility is, with 3 places and no note.
- `BookingFactory(slot=..., coi=...)`: an active booking made directly (no audit event), for the
  new center by default; `coi` is a (din, check) pair from `coi_number()`.
- `coi_number(n)`: the n-th chain-of-identity number of FIN "W1234" in 2026, with its check
  character: (din, check). The factories' centers all have FIN "W1234".
- `facility_today(facility)`: today's date where the facility is.
- `slot_rows()` and `booking_rows()`: the rows a refused slot or booking request must leave as
  they were (`booking_rows` also counts the active bookings, which a refused cancellation keeps).
- `NOW`: the moment the dated tests' `clock` fixture (conftest) stands still at.

Tests that check audit behaviour create their records through the services instead.
"""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from tilcare.accounts.choices import Role
from tilcare.accounts.models import Organization
from tilcare.audit.models import AuditEvent
from tilcare.clinical.checkdigits import format_din, mod37_2
from tilcare.core.tests.clients import row_counts
from tilcare.core.timeutil import local_today
from tilcare.manufacturing.models import ManufacturingSlot, SlotBooking
from tilcare.manufacturing.services import slots as slot_services
from tilcare.patients.tests.factories import CenterFactory, FacilityFactory, UserFactory

SLOT_LEAD_DAYS = 14
SLOT_CAPACITY = 3
NOW = dt.datetime(2026, 12, 7, 15, 0, tzinfo=dt.UTC)


def coi_number(sequence: int, fin: str = "W1234", year: int = 26) -> tuple[str, str]:
    din = format_din(fin, year, sequence)
    return din, mod37_2(din).character


def facility_today(facility: Organization) -> dt.date:
    return local_today(facility.time_zone)


def slot_rows() -> tuple[int, ...]:
    return row_counts(ManufacturingSlot, SlotBooking, AuditEvent)


def booking_rows() -> tuple[int, ...]:
    slots, bookings, events = slot_rows()
    return slots, bookings, SlotBooking.objects.filter(cancelled_at__isnull=True).count(), events


class SlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ManufacturingSlot

    facility = factory.SubFactory(FacilityFactory)
    starts_on = factory.LazyAttribute(
        lambda o: facility_today(o.facility) + dt.timedelta(days=SLOT_LEAD_DAYS)
    )
    capacity = SLOT_CAPACITY
    note = ""
    created_by = factory.LazyAttribute(
        lambda o: UserFactory(role=Role.MANUFACTURING_TECH, organization=o.facility)
    )


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SlotBooking
        exclude = ("coi",)

    slot = factory.SubFactory(SlotFactory)
    coi = factory.Sequence(lambda n: coi_number(900_000 + n))
    coi_din = factory.LazyAttribute(lambda o: o.coi[0])
    coi_check = factory.LazyAttribute(lambda o: o.coi[1])
    manufacture_attempt = 1
    center = factory.SubFactory(CenterFactory)
    booked_by = factory.LazyAttribute(
        lambda o: UserFactory(role=Role.NAVIGATOR, organization=o.center)
    )
    booked_at = factory.LazyFunction(timezone.now)


def book_journey(slot: ManufacturingSlot, journey, team) -> SlotBooking:
    """A place in `slot` for the journey's COI, booked by `team`'s navigator for its center."""
    return slot_services.book_slot(
        slot,
        coi_din=journey.coi_din,
        coi_check=journey.coi_check,
        center=team.center,
        actor=team.navigator,
    )


def coi_html(din: str, check: str) -> str:
    """The COI identifier as the pages print it: spaced, with the check character boxed."""
    return (
        f'<span class="coi">{din[:5]} {din[5:7]} {din[7:]} <span class="coi-check">{check}</span>'
    )
