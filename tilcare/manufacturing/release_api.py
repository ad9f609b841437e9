"""Release steps of the batch record over the API."""

from ninja import Router

router = Router()
