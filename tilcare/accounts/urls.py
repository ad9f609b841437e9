from django.contrib.auth.decorators import login_not_required
from django.urls import path

from tilcare.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", login_not_required(views.LoginView.as_view()), name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("second-factor/", views.second_factor_verify, name="second-factor"),
    path("second-factor/setup/", views.second_factor_setup, name="second-factor-setup"),
    path("second-factor/recovery-codes/", views.recovery_codes, name="recovery-codes"),
    path("no-role/", views.no_role, name="no-role"),
    path("center/", views.center_settings, name="center-settings"),
    path("center/staff/", views.staff_security, name="staff-security"),
    path(
        "center/staff/<uuid:public_id>/reset-second-factor/",
        views.second_factor_reset,
        name="second-factor-reset",
    ),
    path("center/tokens/", views.token_list, name="token-list"),
    path("center/tokens/<uuid:public_id>/revoke/", views.token_revoke, name="token-revoke"),
]
