from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def no_role(request: HttpRequest) -> HttpResponse:
    """A signed-in account with no role or organization sees nothing (deny by default)."""
    return render(request, "accounts/no_role.html", status=403)
