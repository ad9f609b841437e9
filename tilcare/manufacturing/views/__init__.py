"""Manufacturing pages by sub-domain: `slots`, `batches`, `release` and the facility's
`settings`; each batch module exposes its `urlpatterns`."""
