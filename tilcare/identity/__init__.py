"""Chain of identity and custody: items, labels, handoffs, scans, shipments, identity alerts."""
