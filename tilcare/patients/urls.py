from django.urls import path

from tilcare.patients import views

app_name = "patients"
urlpatterns = [
    path("", views.patient_list, name="patient-list"),
    path("new/", views.patient_create, name="patient-create"),
    path("<uuid:public_id>/", views.patient_detail, name="patient-detail"),
    path("<uuid:public_id>/edit/", views.patient_edit, name="patient-edit"),
    path("<uuid:public_id>/contacts/", views.contact_add, name="contact-add"),
    path("<uuid:public_id>/prior-therapies/", views.prior_therapy_add, name="prior-therapy-add"),
    path("<uuid:public_id>/consents/", views.consent_add, name="consent-add"),
    path(
        "<uuid:public_id>/consents/<uuid:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent-withdraw",
    ),
    path("<uuid:public_id>/measurements/", views.measurement_add, name="measurement-add"),
]
