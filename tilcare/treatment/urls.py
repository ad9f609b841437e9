from django.urls import path

from tilcare.treatment.views import orders, pages, signing

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
    path("orders/", orders.orders, name="orders"),
    path("orders/<uuid:public_id>/", orders.order, name="order"),
    path("orders/<uuid:public_id>/verify/", orders.order_verify, name="order_verify"),
    path("orders/<uuid:public_id>/cancel/", orders.order_cancel, name="order_cancel"),
    path("orders/<uuid:public_id>/reorder/", orders.order_reorder, name="order_reorder"),
    path("orders/<uuid:public_id>/doses/", orders.order_record_dose, name="order_record_dose"),
]
