"""Reads of manufacturing records, always scoped to who is asking: `slots` (capacity and
bookings), `batches` (the board and the batch record), `forecast` (the REP harvest forecast, the
screen ranking and the thresholds they read)."""
