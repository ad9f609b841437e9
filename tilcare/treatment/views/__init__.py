"""The protocol settings pages: `pages` (the list, one protocol, the form that enters a version)
and `signing` (the signature and the discard)."""
