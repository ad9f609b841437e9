"""A protocol calculator's page at a center: filled from the center's signed settings in force,
saying whose signatures they carry; empty, and saying so, where the center has not activated the
protocol; never another center's settings; the API unchanged."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine

from tilcare.calculators.tests.helpers import PATIENT, post
from tilcare.core.tests.clients import client_for
from tilcare.journey.tests.factories import CareTeam, make_team, riverside_team
from tilcare.patients.tests.factories import TEST_PASSWORD, CenterFactory
from tilcare.treatment.services.activation import enter_protocol_settings, sign_protocol_settings
from tilcare.treatment.tests.factories import LIFILEUCEL, LIFILEUCEL_VALUES, NKI, activate

pytestmark = pytest.mark.django_db

LYMPHODEPLETION = "/calculators/lymphodepletion-lifileucel-us-2024/"
INFUSION_WINDOW = "/calculators/infusion-window-nki-phase3-2022/"
SETTINGS_URL = "/treatment/protocols/lifileucel_us/2024/"
# 21:30 on 2 March in New York (the center's zone) is already 3 March in UTC.
SIGNED_AT = dt.datetime(2026, 3, 3, 2, 30, tzinfo=dt.UTC)
NOT_ACTIVATED = (
    "Not activated at your center: a pharmacist and a treating physician enter and sign these "
    "settings on the"
)


@pytest.fixture
def team() -> CareTeam:
    return riverside_team()


@pytest.fixture
def in_force(team: CareTeam):
    with time_machine.travel(SIGNED_AT, tick=False):
        return activate(team.center, pharmacist=team.pharmacist, physician=team.physician)


def page(user, path: str = LYMPHODEPLETION) -> str:
    response = client_for(user).get(path)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def text_input(page_html: str, name: str) -> str:
    """The `<input>` element of field `name`."""
    found = re.search(rf'<input[^>]*name="{name}"[^>]*>', page_html)
    assert found, name
    return found.group(0)


def textarea(page_html: str, name: str) -> str:
    found = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(.*?)</textarea>', page_html, re.S)
    assert found, name
    return found.group(1).strip()


def selected(page_html: str, name: str) -> str:
    """The value of the option chosen in select `name` ("" for none)."""
    found = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page_html, re.S)
    assert found, name
    chosen = re.search(r'<option value="([^"]*)" selected>', found.group(1))
    return chosen.group(1) if chosen else ""


def test_the_page_is_filled_from_the_version_in_force_and_names_both_signers(team, in_force):
    # Given Riverside's lifileucel settings, version 1, signed by its pharmacist and physician
    # When its nurse opens the lymphodepletion calculator
    shown = page(team.nurse)

    # Then the line names the version, both signers, and the day in the center's zone
    assert (
        f"Center settings: version 1 in force, signed by {team.pharmacist.printed_name} "
        f"(pharmacist) and {team.physician.printed_name} (treating physician) on 2 Mar 2026."
    ) in shown
    assert f'href="{SETTINGS_URL}"' in shown
    # And every setting of the calculation carries the signed value
    assert 'value="10"' in text_input(shown, "cyclophosphamide_rounding_increment_mg")
    assert 'value="1"' in text_input(shown, "fludarabine_rounding_increment_mg")
    assert 'value="60"' in text_input(shown, "mesna_dose")
    assert 'value="no cap"' in text_input(shown, "bsa_cap_m2")
    assert selected(shown, "cyclophosphamide_weight_basis") == "actual"
    assert selected(shown, "crcl_weight_basis") == "actual"
    assert selected(shown, "bsa_formula") == "mosteller"
    assert textarea(shown, "fludarabine_renal_bands") == "40, 49, 15\n50, 79, 20"
    # And the patient's fields stay empty, before the folded settings
    assert "value=" not in text_input(shown, "weight_kg")
    assert shown.index('name="weight_kg"') < shown.index('<details class="calc-settings">')
    assert shown.index('<details class="calc-settings">') < shown.index('name="mesna_dose"')


def test_a_newer_version_replaces_the_values_and_the_number(team, in_force):
    # Given version 2, capping the BSA at 2.2 m², signed by both
    activate(
        team.center,
        pharmacist=team.pharmacist,
        physician=team.physician,
        values={**LIFILEUCEL_VALUES, "bsa_cap_m2": "2.2"},
        reason="BSA cap set to 2.2 m² by the pharmacy and therapeutics committee.",
    )

    shown = page(team.physician)

    assert "Center settings: version 2 in force" in shown
    assert 'value="2.2"' in text_input(shown, "bsa_cap_m2")


def test_the_settings_prefilled_give_the_calculation_of_the_signed_values(team, in_force):
    # When the nurse posts the page as filled, with the patient's values added
    shown = page(team.nurse)
    form = {
        **PATIENT,
        "cyclophosphamide_weight_basis": selected(shown, "cyclophosphamide_weight_basis"),
        "crcl_weight_basis": selected(shown, "crcl_weight_basis"),
        "bsa_formula": selected(shown, "bsa_formula"),
        "fludarabine_renal_bands": textarea(shown, "fludarabine_renal_bands"),
        "cyclophosphamide_rounding_increment_mg": "10",
        "fludarabine_rounding_increment_mg": "1",
        "mesna_dose": "60",
        "bsa_cap_m2": "no cap",
    }
    response = client_for(team.nurse).post(LYMPHODEPLETION, form)
    answer = html.unescape(response.content.decode())

    # Then it calculates, says nothing was changed, and keeps the settings folded
    assert response.status_code == 200
    assert "Cyclophosphamide 4800 mg daily" in answer
    assert "Changed here" not in answer
    assert '<details class="calc-settings">' in answer

    # When a setting is typed differently, the page says which, and opens the fold
    changed = client_for(team.nurse).post(LYMPHODEPLETION, {**form, "mesna_dose": "50"})
    answer = html.unescape(changed.content.decode())
    mesna_label = "Mesna dose given with cyclophosphamide (mg/kg per cyclophosphamide day)"
    assert f"Changed here from version 1: {mesna_label}." in answer
    assert '<details class="calc-settings" open>' in answer


def test_without_activation_the_fields_stay_empty_and_the_page_says_who_signs(team):
    shown = page(team.nurse)

    assert NOT_ACTIVATED in shown
    assert f'<a href="{SETTINGS_URL}">Protocols page</a>' in shown
    assert "values typed here serve this calculation only" in shown
    assert "Center settings: version" not in shown
    assert "value=" not in text_input(shown, "mesna_dose")
    assert "value=" not in text_input(shown, "bsa_cap_m2")
    assert selected(shown, "cyclophosphamide_weight_basis") == ""
    assert textarea(shown, "fludarabine_renal_bands") == ""
    # Nothing to fold: the settings are to be typed
    assert "<details" not in shown


def test_a_version_awaiting_the_physician_is_not_in_force(team):
    # Given settings entered and signed by the pharmacist only
    activation = enter_protocol_settings(
        team.center,
        protocol_id=LIFILEUCEL[0],
        protocol_version=LIFILEUCEL[1],
        values=LIFILEUCEL_VALUES,
        actor=team.pharmacist,
    )
    sign_protocol_settings(activation, actor=team.pharmacist, password=TEST_PASSWORD)

    shown = page(team.nurse)

    assert NOT_ACTIVATED in shown
    assert "value=" not in text_input(shown, "mesna_dose")


def test_another_center_s_settings_are_never_shown(team, in_force):
    # Given another center, which has activated nothing
    other = make_team(CenterFactory(name="Lakeside Oncology"))

    shown = page(other.physician)

    assert NOT_ACTIVATED in shown
    assert team.pharmacist.printed_name not in shown
    assert "value=" not in text_input(shown, "mesna_dose")


def test_each_protocol_reads_its_own_activation(team, in_force):
    # Lifileucel is in force at Riverside; the NKI protocol is not
    shown = page(team.nurse, INFUSION_WINDOW)

    assert NOT_ACTIVATED in shown
    assert "value=" not in text_input(shown, "infusion_earliest_hours")

    activate(team.center, pharmacist=team.pharmacist, physician=team.physician, protocol=NKI)
    shown = page(team.nurse, INFUSION_WINDOW)

    assert 'value="24"' in text_input(shown, "infusion_earliest_hours")
    assert 'value="96"' in text_input(shown, "infusion_latest_hours")


def test_a_calculator_that_reads_no_center_setting_says_nothing_about_them(team, in_force):
    shown = page(team.nurse, "/calculators/cell-dose-lifileucel-us-2024/")

    assert "Center settings" not in shown
    assert NOT_ACTIVATED not in shown


def test_facility_users_have_no_protocol_calculator_and_see_no_center_settings(team, in_force):
    # A facility's staff use the manufacturing and identity calculators only
    technologist = client_for(team.manufacturing_tech)

    assert technologist.get(LYMPHODEPLETION).status_code == 403
    shown = page(team.manufacturing_tech, "/calculators/check-character/")
    assert "Center settings" not in shown
    assert "Not activated" not in shown


def test_the_api_stays_stateless_at_a_center_with_settings_in_force(team, in_force):
    # The API reads only what is sent: a call without the settings is refused, naming them
    response = post(client_for(team.nurse), "lymphodepletion-lifileucel-us-2024", dict(PATIENT))

    assert response.status_code == 422
    assert "mesna_dose" in response.json()["errors"]
