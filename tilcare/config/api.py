"""The one JSON API: /api/v1, OpenAPI at /api/v1/openapi.json, a router per domain."""

from ninja import NinjaAPI

api = NinjaAPI(title="tilcare API", version="1", urls_namespace="api")
