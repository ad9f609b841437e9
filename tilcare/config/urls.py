from django.urls import include, path

from tilcare.config.api import api

urlpatterns = [
    path("", include("tilcare.core.urls")),
    path("accounts/", include("tilcare.accounts.urls")),
    path("patients/", include("tilcare.patients.urls")),
    path("", include("tilcare.journey.urls")),
    path("portal/", include("tilcare.portal.urls")),
    path("api/v1/", api.urls),
]
