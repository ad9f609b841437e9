"""Identity pages by sub-domain; each module exposes its `urlpatterns`."""
