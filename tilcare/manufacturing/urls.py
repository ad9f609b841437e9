"""Manufacturing pages: capacity, the batch record and its release."""

from django.urls import path

from tilcare.manufacturing.views import batches as batch_views
from tilcare.manufacturing.views import release as release_views
from tilcare.manufacturing.views import settings as settings_views
from tilcare.manufacturing.views import slots as slot_views

app_name = "manufacturing"
urlpatterns = [
    path("slots/", slot_views.slot_list, name="slots"),
    path("slots/new/", slot_views.slot_create, name="slot-create"),
    path("slots/<uuid:public_id>/capacity/", slot_views.slot_capacity, name="slot-capacity"),
    path("slots/book/", slot_views.booking_create, name="booking-create"),
    path("bookings/<uuid:public_id>/cancel/", slot_views.booking_cancel, name="booking-cancel"),
    *batch_views.urlpatterns,
    *release_views.urlpatterns,
    *settings_views.urlpatterns,
]
