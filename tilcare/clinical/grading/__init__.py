"""Grading and scoring: CTCAE v5.0 (term catalogue, grades from values, clinician questions),
NEWS2 (RCP 2017) and ASTCT 2019 CRS. Each grade names the rule and the values that set it.
"""
