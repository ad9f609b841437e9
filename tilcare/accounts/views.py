from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tilcare.accounts import policies, services
from tilcare.accounts.forms import CenterSettingsForm
from tilcare.core.errors import InvalidInput, PermissionDenied
from tilcare.core.forms import apply_service_errors


def no_role(request: HttpRequest) -> HttpResponse:
    """A signed-in account with no role or organization sees nothing (deny by default)."""
    return render(request, "accounts/no_role.html", status=403)


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
