"""API shapes of manufacturing, by sub-domain: `slots` (slots and bookings), `batches` (the batch
record)."""
