"""Versioned treatment protocols as TOML data, with the loader that validates them.

Protocols are data (DESIGN.md section 4 rule 4): every dose, window, maximum and hold rule lives in
a file here with its source. This package imports only `tilcare.clinical`, never Django.
"""
