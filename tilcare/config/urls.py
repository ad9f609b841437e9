from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from tilcare.config import views
from tilcare.config.api import api

urlpatterns = [
    path("", views.home, name="home"),
    path(
        "favicon.ico",
        login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)),
    ),
    path("accounts/", include("tilcare.accounts.urls")),
    path("patients/", include("tilcare.patients.urls")),
    path("", include("tilcare.journey.urls")),
    path("portal/", include("tilcare.portal.urls")),
    path("calculators/", include("tilcare.calculators.urls")),
    path("identity/", include("tilcare.identity.urls")),
    path("manufacturing/", include("tilcare.manufacturing.urls")),
    path("treatment/", include("tilcare.treatment.urls")),
    path("api/v1/", api.urls),
]
