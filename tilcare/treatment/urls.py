from django.urls import path

from tilcare.treatment.views import bedside, il2, infusion, orders, pages, signing

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
    path(
        "orders/<uuid:public_id>/filgrastim-stop/",
        orders.order_filgrastim_stop,
        name="order_filgrastim_stop",
    ),
    path("bedside/", bedside.bedside, name="bedside"),
    path("infusions/<uuid:public_id>/", infusion.infusion, name="infusion"),
    path(
        "infusions/<uuid:public_id>/premedication/",
        infusion.infusion_premedication,
        name="infusion_premedication",
    ),
    path("infusions/<uuid:public_id>/thaw/", infusion.infusion_thaw, name="infusion_thaw"),
    path("infusions/<uuid:public_id>/scan/", infusion.infusion_scan, name="infusion_scan"),
    path("infusions/<uuid:public_id>/start/", infusion.infusion_start, name="infusion_start"),
    path("infusions/<uuid:public_id>/end/", infusion.infusion_end, name="infusion_end"),
    path("orders/<uuid:public_id>/il2/", il2.il2, name="il2"),
    path("orders/<uuid:public_id>/il2/assess/", il2.il2_assess, name="il2_assess"),
    path("il2-decisions/<uuid:public_id>/decide/", il2.il2_decide, name="il2_decide"),
]
