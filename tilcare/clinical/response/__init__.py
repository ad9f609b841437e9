"""Tumour response criteria (RECIST 1.1)."""
