"""Every write to manufacturing records, by sub-domain: `slots` (capacity and bookings),
`batches` (opening a batch, its receipt, counts and moves), `screen` (cultures, the reactivity
screen, the selection), `steps` and `workflow` (what the batch steps share; the one place a
status changes), `formulation` and `release` (specifications, bags, release tests, QA's
disposition), `thresholds` (the facility's screen and early-warning thresholds), `settings` (how
either of those facility rows is written).
Each function takes `actor=`, checks the policy and records the audit event in its transaction."""
