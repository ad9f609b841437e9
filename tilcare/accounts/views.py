from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable
from typing import Any, cast

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django_otp import login as otp_login
from django_otp import user_has_device

from tilcare.accounts import policies, selectors, services
from tilcare.accounts.forms import (
    CenterSettingsForm,
    ReasonForm,
    SecondFactorCodeForm,
    SetupCodeForm,
)
from tilcare.accounts.middleware import second_factor_exempt
from tilcare.accounts.models import ApiToken, Organization, User
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.forms import apply_service_errors
from tilcare.core.http import get_visible_or_404

# The recovery codes just issued, kept in the session only until the page that shows them once.
NEW_RECOVERY_CODES_KEY = "tilcare_new_recovery_codes"
# Between the password and the second factor no other page opens: the menu is not shown.
NO_NAVIGATION: list[object] = []


def no_role(request: HttpRequest) -> HttpResponse:
    """A signed-in account with no role or organization sees nothing (deny by default)."""
    return render(request, "accounts/no_role.html", status=403)


class LoginView(auth_views.LoginView):
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        context = super().get_context_data(**kwargs)
        context["second_factor_off"] = not settings.TILCARE_REQUIRE_SECOND_FACTOR
        return context


logout_view = second_factor_exempt(auth_views.LogoutView.as_view())


def _person(request: HttpRequest) -> User:
    """The signed-in person as a plain model instance (the audit trail records the model)."""
    return User.objects.get(pk=cast(int, request.user.pk))


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse(settings.LOGIN_REDIRECT_URL)


@second_factor_exempt
def second_factor_setup(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: scan the code (or type the key), then enter a code it shows."""
    user = _person(request)
    if user_has_device(user, confirmed=True):
        return redirect(reverse("accounts:second-factor") + "?" + request.GET.urlencode())
    device = services.begin_enrolment(actor=user)
    form = SetupCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            codes = services.confirm_enrolment(device, form.cleaned_data["code"], actor=user)
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            device.refresh_from_db()
            otp_login(request, device)
            request.session[NEW_RECOVERY_CODES_KEY] = codes
            return redirect(reverse("accounts:recovery-codes") + "?" + request.GET.urlencode())
    secret = b32encode(device.bin_key).decode("ascii")
    context = {
        "form": form,
        "qr_data_uri": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
        "secret_groups": [secret[i : i + 4] for i in range(0, len(secret), 4)],
        "next": _next_url(request),
        "nav_items": NO_NAVIGATION,
    }
    return render(request, "accounts/second_factor_setup.html", context)


@second_factor_exempt
def recovery_codes(request: HttpRequest) -> HttpResponse:
    """The recovery codes just issued, shown this once."""
    codes = request.session.pop(NEW_RECOVERY_CODES_KEY, None)
    if not codes:
        return redirect(_next_url(request))
    return render(
        request,
        "accounts/recovery_codes.html",
        {"codes": codes, "next": _next_url(request), "nav_items": NO_NAVIGATION},
    )


@second_factor_exempt
def second_factor_verify(request: HttpRequest) -> HttpResponse:
    """After the password: the code from the authenticator app, or a recovery code."""
    if not policies.second_factor_pending(request.user):
        return redirect(_next_url(request))
    user = _person(request)
    if not user_has_device(user, confirmed=True):
        return redirect(reverse("accounts:second-factor-setup") + "?" + request.GET.urlencode())
    form = SecondFactorCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = services.verify_second_factor(user, form.cleaned_data["code"], actor=user)
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            otp_login(request, outcome.device)
            if outcome.recovery_codes_left is not None:
                messages.warning(
                    request,
                    f"You signed in with a recovery code; {outcome.recovery_codes_left} left. "
                    "If your phone is lost, ask your center administrator to reset your "
                    "second factor.",
                )
            return redirect(_next_url(request))
    return render(
        request,
        "accounts/second_factor_verify.html",
        {"form": form, "next": _next_url(request), "nav_items": NO_NAVIGATION},
    )


def _managed_center(request: HttpRequest, message: str) -> Organization:
    center = getattr(request.user, "organization", None)
    if center is None or not policies.can_manage_center(request.user, center):
        raise PermissionDenied(message)
    return cast(Organization, center)


def staff_security(request: HttpRequest) -> HttpResponse:
    """The center's people and whether each has set up the second factor."""
    center = _managed_center(
        request, "Only a center administrator may see the staff's sign-in security."
    )
    staff = [
        {
            "person": person,
            "needs": policies.role_needs_second_factor(person.role),
            "can_reset": policies.can_reset_second_factor(request.user, person),
        }
        for person in selectors.list_center_staff(center)
    ]
    return render(request, "accounts/staff_security.html", {"center": center, "staff": staff})


def _confirm_with_reason(
    request: HttpRequest,
    act: Callable[[str], object],
    *,
    done: str,
    then: str,
    template: str,
    context: dict[str, Any],
) -> HttpResponse:
    """A confirmation page asking why: on a valid post `act(reason)`, then say `done` and go to
    the `then` page; else the page again with the form (and the service's refusals)."""
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            act(form.cleaned_data["reason"])
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(then)
    return render(request, template, {**context, "form": form})


def second_factor_reset(request: HttpRequest, public_id: str) -> HttpResponse:
    """Confirm, then reset a colleague's second factor (a lost or replaced phone)."""
    center = _managed_center(request, "Only a center administrator may reset a second factor.")
    person = get_visible_or_404(User.objects.filter(organization=center), public_id)
    return _confirm_with_reason(
        request,
        lambda reason: services.reset_second_factor(person, actor=_person(request), reason=reason),
        done=f"Second factor reset for {person.printed_name}. They set up a new "
        "authenticator app at their next sign-in.",
        then="accounts:staff-security",
        template="accounts/second_factor_reset.html",
        context={"person": person},
    )


def token_list(request: HttpRequest) -> HttpResponse:
    """The API tokens of the center's people: name, owner, scope, dates, last use, status."""
    center = _managed_center(request, "Only a center administrator may see the API tokens.")
    now = timezone.now()
    tokens = [
        {"token": token, "status": token.status_at(now)}
        for token in selectors.list_center_tokens(center)
    ]
    return render(request, "accounts/token_list.html", {"center": center, "tokens": tokens})


def token_revoke(request: HttpRequest, public_id: str) -> HttpResponse:
    """Confirm, then revoke a token; the next request that carries it is refused."""
    center = _managed_center(request, "Only a center administrator may revoke an API token.")
    token: ApiToken = get_visible_or_404(selectors.list_center_tokens(center), public_id)
    return _confirm_with_reason(
        request,
        lambda reason: services.revoke_api_token(token, actor=_person(request), reason=reason),
        done=f"Token {token.key_prefix}… “{token.name}” revoked.",
        then="accounts:token-list",
        template="accounts/token_revoke.html",
        context={"token": token},
    )


def center_settings(request: HttpRequest) -> HttpResponse:
    center = getattr(request.user, "organization", None)
    if center is None or not policies.can_manage_center(request.user, center):
        raise PermissionDenied("Only a center administrator may change the center settings.")
    form = CenterSettingsForm(request.POST or None, instance=center)
    if request.method == "POST" and form.is_valid():
        changes = {f: form.cleaned_data[f] for f in CenterSettingsForm.Meta.fields}
        try:
            center.refresh_from_db()
            services.update_center_settings(
                center, actor=request.user, changes=changes, reason=form.cleaned_data["reason"]
            )
        except InvalidInput as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "Center settings saved.")
            return redirect("accounts:center-settings")
    return render(request, "accounts/center_settings.html", {"form": form, "center": center})
