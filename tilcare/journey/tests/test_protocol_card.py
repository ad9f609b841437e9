"""The journey page's protocol line: the protocol the journey follows and the center's signed
settings its orders read, or that the center has not activated them yet; for the center's staff
only, never for the manufacturing facility."""

from __future__ import annotations

import html

import pytest

from tilcare.core.tests.clients import client_for
from tilcare.journey.choices import Protocol
from tilcare.journey.tests.factories import make_team, open_journey_for
from tilcare.patients.tests.factories import TEST_PASSWORD, CenterFactory
from tilcare.treatment.services.activation import enter_protocol_settings, sign_protocol_settings
from tilcare.treatment.tests.factories import LIFILEUCEL_VALUES, NKI, NKI_VALUES, activate

pytestmark = pytest.mark.django_db

LIFILEUCEL_TITLE = "Lifileucel (Amtagvi), US label regimen 2024"
NOT_ACTIVATED = (
    "not yet activated at this center</span> a pharmacist and a treating physician must sign the "
    "settings before orders."
)


def journey_page(user, journey) -> str:
    response = client_for(user).get(f"/journeys/{journey.public_id}/")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def card(page: str) -> str:
    """The protocol line's HTML, its whitespace made single spaces."""
    start = page.index('<p class="journey-protocol small" id="protocol">')
    return " ".join(page[start : page.index("</p>", start)].split())


def test_the_line_names_the_version_in_force_and_both_signers(team, journey):
    # Given lifileucel settings, version 2, signed by the center's pharmacist and physician
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
    activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        values={**LIFILEUCEL_VALUES, "bsa_cap_m2": "2.2"},
        reason="BSA cap set to 2.2 m² by the pharmacy and therapeutics committee.",
    )

    shown = card(journey_page(team.nurse, journey))

    assert LIFILEUCEL_TITLE in shown
    assert (
        f"center settings version 2 in force (signed by {team.pharmacist.printed_name} and "
        f"{team.physician.printed_name})."
    ) in shown
    assert 'href="/treatment/protocols/lifileucel_us/2024/"' in shown
    assert "not yet activated" not in shown


def test_without_activation_the_line_says_who_must_sign_before_orders(team, journey):
    shown = card(journey_page(team.navigator, journey))

    assert LIFILEUCEL_TITLE in shown
    assert NOT_ACTIVATED in shown
    assert "in force" not in shown
    assert 'href="/treatment/protocols/lifileucel_us/2024/"' in shown


def test_a_version_signed_by_the_pharmacist_alone_is_not_in_force(team, journey):
    activation = enter_protocol_settings(
        team.center,
        protocol_id="lifileucel_us",
        protocol_version="2024",
        values=LIFILEUCEL_VALUES,
        actor=team.pharmacist,
    )
    sign_protocol_settings(activation, actor=team.pharmacist, password=TEST_PASSWORD)

    shown = card(journey_page(team.physician, journey))

    assert NOT_ACTIVATED in shown
    assert "Version 1 awaits signatures." in shown


def test_the_line_follows_the_journey_s_own_protocol(team, patient):
    # Lifileucel is in force; this journey follows the NKI protocol, not activated
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician)
    nki_journey = open_journey_for(patient, team.navigator, protocol=Protocol.NKI_TIL_2022)

    shown = card(journey_page(team.nurse, nki_journey))

    assert "NKI/CCIT phase 3 TIL protocol (Rohaan et al., NEJM 2022)" in shown
    assert NOT_ACTIVATED in shown
    assert 'href="/treatment/protocols/nki_phase3/2022/"' in shown

    activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        protocol=NKI,
        values=NKI_VALUES,
    )
    assert "center settings version 1 in force" in card(journey_page(team.nurse, nki_journey))


def test_another_center_s_activation_does_not_count(team, journey):
    other = make_team(CenterFactory(name="Lakeside Oncology"))
    activate(other.center, pharmacist=other.pharmacist, physician=other.physician)

    shown = card(journey_page(team.nurse, journey))

    assert NOT_ACTIVATED in shown
    assert other.pharmacist.printed_name not in shown


def test_the_facility_sees_no_protocol_line(team, product_released):
    # Given settings in force and a journey at the facility
    activate(team.center, pharmacist=team.pharmacist, physician=team.physician)

    page = journey_page(team.manufacturing_tech, product_released)

    # Then its technologist sees the COI view, without the center's settings or signers
    assert 'id="protocol"' not in page
    assert "settings version" not in page
    assert team.pharmacist.printed_name not in page
    assert team.physician.printed_name not in page
