"""Manufacturing at the facility, seen by COI identifier only: capacity and the batch record."""
