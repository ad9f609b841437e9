"""Batch pages of the batch record."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
