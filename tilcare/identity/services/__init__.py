"""Every write to identity and custody records, by sub-domain: `items` (items and labels),
`custody` (handoffs and scans), `alerts`, `shipments` (shipments and temperature logs).
Each function takes `actor=`, checks the policy and records the audit event in its transaction."""
