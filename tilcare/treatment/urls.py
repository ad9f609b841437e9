from django.urls import path

from tilcare.treatment.views import pages, signing

app_name = "treatment"

urlpatterns = [
    path("protocols/", pages.protocols, name="protocols"),
    path("protocols/<str:protocol_id>/<str:version>/", pages.protocol, name="protocol"),
    path(
        "protocols/<str:protocol_id>/<str:version>/edit/",
        pages.protocol_edit,
        name="protocol_edit",
    ),
    path("protocol-settings/<uuid:public_id>/sign/", signing.protocol_sign, name="protocol_sign"),
    path(
        "protocol-settings/<uuid:public_id>/discard/",
        signing.protocol_discard,
        name="protocol_discard",
    ),
]
