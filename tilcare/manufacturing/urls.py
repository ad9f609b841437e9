"""Manufacturing pages: capacity, the batch record and its release."""

from django.urls import path

from tilcare.manufacturing import batch_views, release_views, settings_views, views

app_name = "manufacturing"
urlpatterns = [
    path("slots/", views.slot_list, name="slots"),
    path("slots/new/", views.slot_create, name="slot-create"),
    path("slots/<uuid:public_id>/capacity/", views.slot_capacity, name="slot-capacity"),
    path("slots/book/", views.booking_create, name="booking-create"),
    path("bookings/<uuid:public_id>/cancel/", views.booking_cancel, name="booking-cancel"),
    *batch_views.urlpatterns,
    *release_views.urlpatterns,
    *settings_views.urlpatterns,
]
