"""tilcare: one record of a TIL therapy program, from referral to long-term follow-up."""

__version__ = "0.1.0"
