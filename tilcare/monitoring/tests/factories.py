"""Observations as a sender writes them: one entry, a vitals set, a laboratory value."""

from __future__ import annotations

import datetime as dt
from typing import Any

# The clock of the monitoring tests: 23:30 UTC on 14 December 2026 (18:30 in New York, where the
# test centers are), and 05:30 UTC the next morning (00:30 in New York, the previous evening's
# local day having ended).
LATE_EVENING = dt.datetime(2026, 12, 14, 23, 30, tzinfo=dt.UTC)
EARLY_MORNING = dt.datetime(2026, 12, 15, 5, 30, tzinfo=dt.UTC)

# A set scoring NEWS2 0 (RCP 2017 Chart 1: every parameter in its 0 band).
NORMAL_VITALS: dict[str, Any] = {
    "respiratory_rate": "16",
    "spo2": "97",
    "supplemental_oxygen": "no",
    "systolic_bp": "120",
    "diastolic_bp": "80",
    "heart_rate": "72",
    "consciousness": "A",
    "temperature": "37.0",
}
UCUM = {
    "respiratory_rate": "/min",
    "heart_rate": "/min",
    "spo2": "%",
    "systolic_bp": "mm[Hg]",
    "diastolic_bp": "mm[Hg]",
    "temperature": "Cel",
    "weight": "kg",
    "fluid_intake": "mL",
    "urine_output": "mL",
    "anc": "10*9/L",
    "platelets": "10*9/L",
    "wbc": "10*9/L",
    "lymphocytes": "10*9/L",
    "hemoglobin": "g/dL",
    "creatinine": "mg/dL",
    "albumin": "g/dL",
    "alt": "U/L",
    "ast": "U/L",
    "bilirubin": "mg/dL",
}
CATEGORICAL = {"supplemental_oxygen", "consciousness"}


def entry(kind: str, value: Any, at: dt.datetime, **fields: Any) -> dict[str, Any]:
    """One entry of `kind` in its UCUM unit (or its answer, for a categorical kind)."""
    if kind in CATEGORICAL:
        return {"kind": kind, "value_text": value, "effective_at": at, **fields}
    return {"kind": kind, "value": value, "unit": UCUM[kind], "effective_at": at, **fields}


def vitals(set_id: str, at: dt.datetime, **values: Any) -> list[dict[str, Any]]:
    """A vitals set taken at `at`: the normal set with `values` in place (None leaves one out)."""
    merged = {**NORMAL_VITALS, **values}
    return [
        entry(kind, value, at, set_id=set_id) for kind, value in merged.items() if value is not None
    ]
