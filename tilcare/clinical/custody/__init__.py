"""Chain-of-custody arithmetic: what a shipment's temperature log shows (pure, no clock)."""
