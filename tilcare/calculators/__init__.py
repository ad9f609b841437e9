"""Stateless calculators: the clinical core's calculations, reachable from the API and a page.

Nothing here reads or writes a patient's record: a pharmacist double-checks a dose, a nurse checks
a NEWS2 score, a technologist forecasts a culture's harvest, and each sees the working.
"""
