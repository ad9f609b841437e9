"""Manufacturing records (capacity slots and bookings; the batch record follows)."""
