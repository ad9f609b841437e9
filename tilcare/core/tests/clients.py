"""Helpers every domain's tests share: a signed-in client, a JSON post and the API's refusal of
its body, and row counts for "nothing was written"."""

from __future__ import annotations

import json
from typing import Any

from django.apps import apps
from django.db import models
from django.test import Client


def verify_second_factor(client: Client, user: Any) -> None:
    """Mark `client`'s signed-in session as past the second factor, as a real sign-in with the
    code does, when `user`'s role needs one: the user gets a confirmed authenticator device if
    they have none. The root conftest does this after every `force_login`."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tilcare.accounts.policies import needs_second_factor

    if not needs_second_factor(user):
        return
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def client_for(user: Any) -> Client:
    """A test client signed in as `user` (past the second factor: see the root conftest)."""
    client = Client()
    client.force_login(user)
    return client


def post_json(client: Client, path: str, body: object = None, **extra: Any) -> Any:
    """POST `body` as JSON (no body at all when it is None), as an API client sends it."""
    data = "" if body is None else json.dumps(body)
    return client.post(path, data=data, content_type="application/json", **extra)


def invalid_input(errors: dict[str, list[str]]) -> dict[str, object]:
    """The API's answer to a refused body or query: each field named with its messages."""
    return {"detail": "Invalid input.", "errors": errors}


def row_counts(*model_classes: type[models.Model]) -> tuple[int, ...]:
    """How many rows each model's table holds: compared before and after a refused request."""
    return tuple(model._base_manager.count() for model in model_classes)


def rows_in_every_table() -> int:
    """How many rows all of tilcare's own tables hold together: a refusal anywhere writes none."""
    return sum(
        model.objects.count()
        for model in apps.get_models()
        if model.__module__.startswith("tilcare.") and model._meta.managed
    )
