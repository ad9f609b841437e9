"""API shapes for who is calling: `/api/v1/me`."""

from __future__ import annotations

from uuid import UUID

from ninja import Schema


class OrganizationOut(Schema):
    public_id: UUID
    name: str
    kind: str
    time_zone: str


class MeOut(Schema):
    public_id: UUID
    username: str
    full_name: str
    printed_name: str
    role: str
    role_label: str
    organization: OrganizationOut | None
    # The role's permission codes (accounts.roles.Perm), sorted, so a client can show or hide
    # actions; the server still checks every action itself.
    permissions: list[str]
