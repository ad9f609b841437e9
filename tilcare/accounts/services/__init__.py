"""Every write to accounts: organizations and people, API tokens, the staff second factor.

One module per sub-domain; the names are re-exported here so callers write
`from tilcare.accounts import services` and `services.issue_api_token(...)`.
"""

from tilcare.accounts.services.organizations import (
    CENTER_SETTINGS,
    create_organization,
    create_user,
    update_center_settings,
)
from tilcare.accounts.services.second_factor import (
    RECOVERY_CODE_COUNT,
    VerifyOutcome,
    begin_enrolment,
    confirm_enrolment,
    reset_second_factor,
    verify_second_factor,
)
from tilcare.accounts.services.tokens import (
    DEFAULT_TOKEN_DAYS,
    MAX_TOKEN_DAYS,
    issue_api_token,
    revoke_api_token,
)

__all__ = [
    "CENTER_SETTINGS",
    "DEFAULT_TOKEN_DAYS",
    "MAX_TOKEN_DAYS",
    "RECOVERY_CODE_COUNT",
    "VerifyOutcome",
    "begin_enrolment",
    "confirm_enrolment",
    "create_organization",
    "create_user",
    "issue_api_token",
    "reset_second_factor",
    "revoke_api_token",
    "update_center_settings",
    "verify_second_factor",
]
