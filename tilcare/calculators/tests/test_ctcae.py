"""CTCAE v5.0 calculators through POST /api/v1/calc/<slug>: every number has a plausible range and
its refusal names the field and the limit; unknown fields and JSON type confusions are refused;
grades a missing input could raise say "at least"; one part of a grade text is enough.

Sources: NCI CTCAE v5.0 workbook (2017-11-27), front matter p. 1 ("A Semi-colon indicates 'or'
within the description of the grade.") and the grade texts quoted in each test. The ranges are
entry-slip limits of the clinical core (ctcae_v5_0_labs), not CTCAE facts.
"""

from __future__ import annotations

import json
import typing
from decimal import Decimal

import pytest
from django.test import Client

from tilcare.accounts.choices import Role
from tilcare.calculators.registry import get_calculator
from tilcare.calculators.tests.helpers import client_for, post
from tilcare.calculators.tests.helpers import refused as field_errors

pytestmark = pytest.mark.django_db

SRC = "CTCAE v5.0 workbook"


@pytest.fixture
def client() -> Client:
    return client_for(Role.PHYSICIAN)


def refused(response) -> dict[str, list[str]]:
    errors = field_errors(response)
    assert response.json()["detail"] == "Invalid input."
    return errors


NEUTROPHILS = {"term": "neutrophil_count_decreased", "unit": "per_mm3"}
PLATELETS = {"term": "platelet_count_decreased", "unit": "per_mm3"}
ANEMIA = {"hemoglobin": "9.0", "lln": "12.0", "unit": "g_per_dl"}
CREATININE_MG = {"creatinine": "2.1", "uln": "1.2", "unit": "mg_per_dl"}
FN_SUSTAINED = {"anc_per_mm3": "400", "sustained_temperature_c": "38.5", "sustained_hours": "2"}

# Every number of every value-based CTCAE calculator, far above and far below its range.
RANGES = [
    (
        "ctcae-blood-count",
        {**NEUTROPHILS, "count": "800", "lln": "2000"},
        "count",
        "neutrophil count 1E+30 /mm³ is above the plausible maximum 200000 /mm³.",
        "neutrophil count -1E+30 /mm³ must be at least 0 /mm³.",
    ),
    (
        "ctcae-blood-count",
        {**NEUTROPHILS, "count": "800", "lln": "2000"},
        "lln",
        "neutrophil count lower limit of normal (LLN) 1E+30 /mm³ is above the plausible maximum "
        "10000 /mm³.",
        "neutrophil count lower limit of normal (LLN) -1E+30 /mm³ must be at least 1000 /mm³.",
    ),
    (
        "ctcae-anemia",
        ANEMIA,
        "hemoglobin",
        "hemoglobin 1E+30 g/dL is above the plausible maximum 25.0 g/dL.",
        "hemoglobin -1E+30 g/dL must be greater than 0 g/dL.",
    ),
    (
        "ctcae-anemia",
        ANEMIA,
        "lln",
        "hemoglobin lower limit of normal (LLN) 1E+30 g/dL is above the plausible maximum "
        "20.0 g/dL.",
        "hemoglobin lower limit of normal (LLN) -1E+30 g/dL must be at least 10.0 g/dL.",
    ),
    (
        "ctcae-creatinine",
        {**CREATININE_MG, "baseline": "0.9"},
        "creatinine",
        "creatinine 1E+30 mg/dL is above the plausible maximum 30 mg/dL.",
        "creatinine -1E+30 mg/dL must be at least 0.2 mg/dL.",
    ),
    (
        "ctcae-creatinine",
        {**CREATININE_MG, "baseline": "0.9"},
        "uln",
        "creatinine upper limit of normal (ULN) 1E+30 mg/dL is above the plausible maximum "
        "3.0 mg/dL.",
        "creatinine upper limit of normal (ULN) -1E+30 mg/dL must be at least 0.3 mg/dL.",
    ),
    (
        "ctcae-creatinine",
        {**CREATININE_MG, "baseline": "0.9"},
        "baseline",
        "baseline creatinine 1E+30 mg/dL is above the plausible maximum 30 mg/dL.",
        "baseline creatinine -1E+30 mg/dL must be at least 0.2 mg/dL.",
    ),
    (
        "ctcae-fever",
        {"temperature_c": "39.4", "hours_above_40_c": "2"},
        "temperature_c",
        "temperature 1E+30 °C is above the plausible maximum 45.0 °C.",
        "temperature -1E+30 °C must be at least 30.0 °C.",
    ),
    (
        "ctcae-fever",
        {"temperature_c": "40.5", "hours_above_40_c": "2"},
        "hours_above_40_c",
        "duration above 40.0 °C 1E+30 h is above the plausible maximum 720 h.",
        "duration above 40.0 °C -1E+30 h must be at least 0 h.",
    ),
    (
        "ctcae-weight-gain",
        {"weight_kg": "79.2", "baseline_weight_kg": "72.0"},
        "weight_kg",
        "weight 1E+30 kg is above the plausible maximum 350 kg.",
        "weight -1E+30 kg must be at least 20 kg.",
    ),
    (
        "ctcae-weight-gain",
        {"weight_kg": "79.2", "baseline_weight_kg": "72.0"},
        "baseline_weight_kg",
        "baseline weight 1E+30 kg is above the plausible maximum 350 kg.",
        "baseline weight -1E+30 kg must be at least 20 kg.",
    ),
    (
        "ctcae-febrile-neutropenia",
        FN_SUSTAINED,
        "anc_per_mm3",
        "ANC 1E+30 /mm³ is above the plausible maximum 200000 /mm³.",
        "ANC -1E+30 /mm³ must be at least 0 /mm³.",
    ),
    (
        "ctcae-febrile-neutropenia",
        {**FN_SUSTAINED, "single_temperature_c": "38.6"},
        "single_temperature_c",
        "single temperature 1E+30 °C is above the plausible maximum 45.0 °C.",
        "single temperature -1E+30 °C must be at least 30.0 °C.",
    ),
    (
        "ctcae-febrile-neutropenia",
        FN_SUSTAINED,
        "sustained_temperature_c",
        "sustained temperature 1E+30 °C is above the plausible maximum 45.0 °C.",
        "sustained temperature -1E+30 °C must be at least 30.0 °C.",
    ),
    (
        "ctcae-febrile-neutropenia",
        FN_SUSTAINED,
        "sustained_hours",
        "sustained temperature duration 1E+30 h is above the plausible maximum 720 h.",
        "sustained temperature duration -1E+30 h must be at least 0 h.",
    ),
]


@pytest.mark.parametrize(
    ("slug", "body", "field", "above", "below"),
    RANGES,
    ids=[f"{slug}-{field}" for slug, _, field, _, _ in RANGES],
)
def test_every_number_is_refused_outside_its_range_on_its_own_field(
    client: Client, slug: str, body: dict[str, str], field: str, above: str, below: str
) -> None:
    # Given a good body; when one number is 10^30 or -10^30 (JSON numbers); then a 422 on that
    # field alone, naming the value and the limit.
    good = post(client, slug, body)
    assert good.status_code == 200, good.json()
    for value, message in (("1e30", above), ("-1e30", below)):
        raw = json.dumps({k: v for k, v in body.items() if k != field})[:-1]
        raw += f', "{field}": {value}}}'
        assert refused(post(client, slug, None, raw=raw)) == {field: [message]}


def test_every_number_of_the_value_calculators_is_covered() -> None:
    # Every decimal input of the value-based CTCAE calculators has its range test above.
    numbers = set()
    for slug in {slug for slug, *_ in RANGES}:
        calculator = get_calculator(slug)
        assert calculator is not None
        for name, info in calculator.input_schema.model_fields.items():
            if Decimal in (info.annotation, *typing.get_args(info.annotation)):
                numbers.add((slug, name))
    assert numbers == {(slug, field) for slug, _, field, _, _ in RANGES}


@pytest.mark.parametrize(
    ("slug", "raw", "field", "message"),
    [
        pytest.param(
            "ctcae-blood-count",
            '{"term": "platelet_count_decreased", "count": 1e30, "lln": 150000, "unit": "per_mm3"}',
            "count",
            "platelet count 1E+30 /mm³ is above the plausible maximum 5000000 /mm³.",
            id="platelets-10^30",
        ),
        pytest.param(
            "ctcae-blood-count",
            '{"term": "neutrophil_count_decreased", "count": 1e30, "lln": 1.5, "unit": "e9_per_l"}',
            "count",
            "neutrophil count 1E+30 ×10⁹/L is above the plausible maximum 200 ×10⁹/L.",
            id="ANC-10^30-in-10^9/L",
        ),
        pytest.param(
            "ctcae-febrile-neutropenia",
            '{"anc_per_mm3": 1e30, "single_temperature_c": 38.6}',
            "anc_per_mm3",
            "ANC 1E+30 /mm³ is above the plausible maximum 200000 /mm³.",
            id="febrile-neutropenia-ANC-10^30",
        ),
        pytest.param(
            "ctcae-weight-gain",
            '{"weight_kg": -72, "baseline_weight_kg": 72}',
            "weight_kg",
            "weight -72 kg must be at least 20 kg.",
            id="weight-gain--200%",
        ),
        pytest.param(
            "ctcae-weight-gain",
            '{"weight_kg": 158.4, "baseline_weight_kg": 72}',
            "weight_kg",
            "weight 158.4 kg is 120.0 % above the baseline weight 72 kg; a change of more than "
            "50 % from baseline is implausible: check both weights and their unit (kg).",
            id="weight-in-pounds-+120%",
        ),
        pytest.param(
            "ctcae-creatinine",
            '{"creatinine": 2.1, "uln": 110, "unit": "umol_per_l"}',
            "creatinine",
            "creatinine 2.1 µmol/L must be at least 17.68 µmol/L.",
            id="creatinine-2.1-umol/L",
        ),
        pytest.param(
            "ctcae-creatinine",
            '{"creatinine": 0.01, "uln": 1.2, "unit": "mg_per_dl"}',
            "creatinine",
            "creatinine 0.01 mg/dL must be at least 0.2 mg/dL.",
            id="creatinine-0.01-mg/dL",
        ),
        pytest.param(
            "ctcae-creatinine",
            '{"creatinine": 2.1, "uln": 1.2, "unit": "umol_per_l"}',
            "creatinine",
            "creatinine 2.1 µmol/L must be at least 17.68 µmol/L.",
            id="creatinine-and-ULN-in-the-wrong-unit",
        ),
        pytest.param(
            "ctcae-fever",
            '{"temperature_c": 40.5}',
            "hours_above_40_c",
            "temperature 40.5 °C is above 40.0 °C: give the 'duration above 40.0 °C' in hours to "
            "separate grade 3 (<=24 hrs) from grade 4 (>24 hrs).",
            id="fever-above-40-needs-hours",
        ),
    ],
)
def test_implausible_values_are_refused_naming_the_field_and_limit(
    client: Client, slug: str, raw: str, field: str, message: str
) -> None:
    assert refused(post(client, slug, None, raw=raw)) == {field: [message]}


def test_a_misspelt_baseline_is_refused_not_ignored(client: Client) -> None:
    # Given creatinine 2.1 mg/dL, ULN 1.2 and baseline 0.6 (3.5 x baseline: CTCAE v5.0 grade 3
    # ">3.0 x baseline"); when the baseline's name is misspelt; then a 422 naming that field,
    # never the lower ULN-only grade 2 (">1.5 - 3.0 x ULN").
    spelt = post(client, "ctcae-creatinine", {**CREATININE_MG, "baseline": "0.6"})
    misspelt = post(client, "ctcae-creatinine", {**CREATININE_MG, "baseline_creatinne": "0.6"})

    assert spelt.status_code == 200
    assert spelt.json()["result"]["grade"] == 3
    assert refused(misspelt) == {
        "baseline_creatinne": ["Unknown field; check its spelling against the API documentation."]
    }


@pytest.mark.parametrize(
    ("slug", "body", "field"),
    [
        ("ctcae-blood-count", {**NEUTROPHILS, "count": True, "lln": "2000"}, "count"),
        ("ctcae-anemia", {**ANEMIA, "lln": False}, "lln"),
        ("ctcae-anemia", {**ANEMIA, "transfusion_indicated": 1}, "transfusion_indicated"),
        ("ctcae-anemia", {**ANEMIA, "transfusion_indicated": 0}, "transfusion_indicated"),
        ("ctcae-anemia", {**ANEMIA, "transfusion_indicated": "yes"}, "transfusion_indicated"),
        ("ctcae-fever", {"temperature_c": True}, "temperature_c"),
        (
            "ctcae-hypoxia",
            {
                "died": False,
                "airway_compromise": "no",
                "urgent_intervention": "no",
                "saturation": "not_decreased",
                "oxygen": "none",
            },
            "died",
        ),
    ],
    ids=[
        "count-true",
        "lln-false",
        "transfusion-1",
        "transfusion-0",
        "transfusion-text",
        "temperature-true",
        "answer-false",
    ],
)
def test_true_is_not_one_and_one_is_not_true(
    client: Client, slug: str, body: dict[str, object], field: str
) -> None:
    errors = refused(post(client, slug, body))
    assert list(errors) == [field]
    assert len(errors[field]) == 1


# CTCAE v5.0 febrile neutropenia, grade 3: "ANC <1000/mm3 with a single temperature of >38.3
# degrees C (101 degrees F) or a sustained temperature of >=38 degrees C (100.4 degrees F) for
# more than one hour": a sustained temperature needs its hours, and the grade needs one of the two.
SUSTAINED_RULE = "sustained temperature of >=38 degrees C for more than one hour."


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        pytest.param(
            {"anc_per_mm3": "400", "sustained_temperature_c": "38.5"},
            {
                "sustained_hours": [
                    "Give how many hours the sustained temperature lasted: CTCAE v5.0 counts a "
                    + SUSTAINED_RULE
                ]
            },
            id="sustained-temperature-without-its-hours",
        ),
        pytest.param(
            {"anc_per_mm3": "400", "single_temperature_c": "38.6", "sustained_hours": "2"},
            {
                "sustained_temperature_c": [
                    "Give the sustained temperature these hours are for: CTCAE v5.0 counts a "
                    + SUSTAINED_RULE
                ]
            },
            id="hours-without-the-sustained-temperature",
        ),
        pytest.param(
            {"anc_per_mm3": "400"},
            {
                field: [
                    "Give the highest single temperature, or a sustained temperature with its "
                    "hours: CTCAE v5.0 febrile neutropenia needs a single temperature of >38.3 "
                    "degrees C or a " + SUSTAINED_RULE
                ]
                for field in ("single_temperature_c", "sustained_temperature_c")
            },
            id="no-temperature-at-all",
        ),
    ],
)
def test_febrile_neutropenia_names_the_temperature_field_that_is_missing(
    client: Client, body: dict[str, str], errors: dict[str, list[str]]
) -> None:
    # Given an ANC of 400/mm3 with one of the pair left out; when graded; then the refusal is on
    # the field(s) to fill in, not on the whole form.
    assert refused(post(client, "ctcae-febrile-neutropenia", body)) == errors


def test_a_lab_lln_below_1500_is_graded(client: Client) -> None:
    # CTCAE v5.0 workbook, Neutrophil count decreased grade 2 "<1500 - 1000/mm3": 1450/mm3 with
    # a laboratory LLN of 1.4 x 10^9/L is grade 2, with the note on the laboratory's range.
    response = post(
        client,
        "ctcae-blood-count",
        {**NEUTROPHILS, "count": "1.45", "lln": "1.4", "unit": "e9_per_l"},
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["result"]["grade"] == 2
    assert body["result"]["rule"] == "<1.5 - 1.0 x 10e9 /L: grade 2"
    assert any(
        note.startswith("The laboratory's LLN (1.4 ×10⁹/L) is below 1.5 ×10⁹/L")
        for note in body["result"]["notes"]
    )


def test_creatinine_without_baseline_is_headlined_at_least(client: Client) -> None:
    # CTCAE v5.0 workbook, Creatinine increased grade 2 ">1.5 - 3.0 x baseline; >1.5 - 3.0 x
    # ULN": 2.1 / 1.2 = 1.75 x ULN is grade 2 against the ULN; a baseline may make it grade 3.
    response = post(client, "ctcae-creatinine", CREATININE_MG)

    assert response.status_code == 200
    body = response.json()
    assert body["headline"] == (
        "Creatinine increased: at least grade 2 — >1.5 - 3.0 x baseline; >1.5 - 3.0 x ULN. No "
        "baseline creatinine given: against the patient's baseline CTCAE v5.0 also grades "
        "'>3.0 x baseline' (grade 3), so this is at least grade 2. Give the baseline creatinine "
        "to settle the grade."
    )
    assert body["tone"] == "warn"


def test_creatinine_at_uln_without_baseline_is_not_ok(client: Client) -> None:
    response = post(client, "ctcae-creatinine", {**CREATININE_MG, "creatinine": "1.0"})
    body = response.json()
    assert body["headline"].startswith("Creatinine increased: at least grade 0. No baseline")
    assert body["tone"] == "warn"


@pytest.mark.parametrize(
    ("transfusion", "headline"),
    [
        (
            None,
            "Anemia: at least grade 2 — Hgb <10.0 - 8.0 g/dL; <6.2 - 4.9 mmol/L; <100 - 80g/L. "
            "Whether a transfusion is indicated was not answered: a transfusion indication makes "
            "this grade 3 (CTCAE v5.0 Anemia grade 3: 'transfusion indicated'). Answer it to "
            "settle the grade.",
        ),
        (True, "Anemia: grade 3 — Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion indicated"),
        (False, "Anemia: grade 2 — Hgb <10.0 - 8.0 g/dL; <6.2 - 4.9 mmol/L; <100 - 80g/L"),
    ],
    ids=["not-answered", "transfusion-indicated", "no-transfusion"],
)
def test_anemia_transfusion_indicated_is_grade_3(
    client: Client, transfusion: bool | None, headline: str
) -> None:
    # CTCAE v5.0 workbook, Anemia grade 3: "Hgb <8.0 g/dL; <4.9 mmol/L; <80 g/L; transfusion
    # indicated"; hemoglobin 9.0 g/dL alone is grade 2 ("Hgb <10.0 - 8.0 g/dL").
    body = {**ANEMIA} if transfusion is None else {**ANEMIA, "transfusion_indicated": transfusion}

    response = post(client, "ctcae-anemia", body)

    assert response.status_code == 200
    assert response.json()["headline"] == headline


@pytest.mark.parametrize(
    ("slug", "answers", "headline"),
    [
        pytest.param(
            "ctcae-capillary-leak-syndrome",
            {"died": "no", "life_threatening": "no", "symptoms": "none", "intervention": "medical"},
            "Capillary leak syndrome: grade 2 — Symptomatic; medical intervention indicated",
            id=f"capillary-leak-asymptomatic-medical-intervention-{SRC}",
        ),
        pytest.param(
            "ctcae-hypoxia",
            {
                "died": "no",
                "airway_compromise": "no",
                "urgent_intervention": "no",
                "saturation": "not_decreased",
                "oxygen": "intermittent",
            },
            "Hypoxia: grade 2 — Decreased oxygen saturation with exercise (e.g., pulse oximeter "
            "<88%); intermittent supplemental oxygen",
            id=f"hypoxia-intermittent-oxygen-{SRC}",
        ),
        pytest.param(
            "ctcae-sinus-tachycardia",
            {"symptoms": "no", "treatment": "non_urgent"},
            "Sinus tachycardia: grade 2 — Symptomatic; non-urgent medical intervention indicated",
            id=f"sinus-tachycardia-treated-asymptomatic-{SRC}",
        ),
    ],
)
def test_one_part_of_a_grade_text_is_enough(
    client: Client, slug: str, answers: dict[str, str], headline: str
) -> None:
    # CTCAE v5.0 front matter, p. 1: "A Semi-colon indicates 'or' within the description of the
    # grade."
    response = post(client, slug, answers)

    assert response.status_code == 200, response.json()
    assert response.json()["headline"] == headline


def test_answers_no_grade_text_describes_are_the_whole_forms_refusal(client: Client) -> None:
    # CTCAE v5.0 Hypotension grade 1 "Asymptomatic, intervention not indicated": symptoms with
    # nothing given match no grade text; the clinician grades it.
    answers = {
        "died": "no",
        "life_threatening": "no",
        "treatment": "none",
        "hospitalization": "no",
        "symptoms": "yes",
    }
    errors = refused(post(client, "ctcae-hypotension", answers))
    assert list(errors) == ["__all__"]
    assert errors["__all__"][0].endswith("grade this case by clinical judgement.")


@pytest.mark.parametrize(
    ("answer", "shown"),
    [
        ("", "Anemia: at least grade 2"),
        ("true", "Anemia: grade 3 — Hgb &lt;8.0 g/dL"),
        ("false", "Anemia: grade 2 — Hgb &lt;10.0 - 8.0 g/dL"),
    ],
    ids=["not-assessed", "yes", "no"],
)
def test_the_anemia_page_asks_whether_a_transfusion_is_indicated(
    client: Client, answer: str, shown: str
) -> None:
    # CTCAE v5.0 workbook, Anemia grade 3 "...; transfusion indicated": the page asks it, and a
    # blank answer leaves hemoglobin 9.0 g/dL at "at least grade 2".
    page = client.get("/calculators/ctcae-anemia/").content.decode()
    assert 'name="transfusion_indicated"' in page
    assert '<option value="" selected>Not assessed</option>' in page

    response = client.post(
        "/calculators/ctcae-anemia/",
        {**ANEMIA, "transfusion_indicated": answer},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert shown in response.content.decode()


def test_the_page_shows_a_refusal_on_its_field(client: Client) -> None:
    response = client.post(
        "/calculators/ctcae-creatinine/",
        {"creatinine": "2.1", "uln": "110", "unit": "umol_per_l"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert (
        '<div class="field-error" id="id_creatinine_error"><p>creatinine 2.1 µmol/L must be at '
        "least 17.68 µmol/L.</p></div>"
    ) in html
