from django.urls import path

from tilcare.journey import views
from tilcare.journey.views import items, orders, release, scan

app_name = "journey"
urlpatterns = [
    path("board/", views.board, name="board"),
    path("tasks/", views.task_list, name="task-list"),
    path("tasks/<uuid:public_id>/complete/", views.task_complete, name="task-complete"),
    path(
        "patients/<uuid:patient_public_id>/journeys/new/",
        views.journey_open,
        name="journey-open",
    ),
    path("journeys/<uuid:public_id>/", views.journey_detail, name="journey-detail"),
    path("journeys/<uuid:public_id>/advance/", views.journey_advance, name="journey-advance"),
    path("journeys/<uuid:public_id>/withdraw/", views.journey_withdraw, name="journey-withdraw"),
    path("journeys/<uuid:public_id>/plan/", views.journey_plan, name="journey-plan"),
    path(
        "journeys/<uuid:public_id>/plan/facility/",
        views.journey_facility_change,
        name="journey-facility-change",
    ),
    path(
        "journeys/<uuid:public_id>/milestones/",
        views.milestone_record,
        name="milestone-record",
    ),
    path(
        "journeys/<uuid:public_id>/milestones/<int:milestone_id>/void/",
        views.milestone_void,
        name="milestone-void",
    ),
    path(
        "journeys/<uuid:public_id>/eligibility/",
        views.eligibility_save,
        name="eligibility-save",
    ),
    path(
        "journeys/<uuid:public_id>/eligibility/amend/",
        views.eligibility_amend,
        name="eligibility-amend",
    ),
    path(
        "journeys/<uuid:public_id>/eligibility/sign/",
        views.eligibility_sign,
        name="eligibility-sign",
    ),
    *scan.urlpatterns,
    *items.urlpatterns,
    *orders.urlpatterns,
    # The batch's release card (drawn by manufacturing) posts QA's and the physician's signatures
    # here, so what follows for the journey is recorded with them.
    path(
        "release/<uuid:public_id>/disposition/",
        release.batch_disposition,
        name="batch-disposition",
    ),
    path(
        "release/<uuid:public_id>/acknowledgement/",
        release.batch_acknowledgement,
        name="batch-acknowledgement",
    ),
]
