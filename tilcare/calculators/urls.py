from django.urls import path

from tilcare.calculators import views

app_name = "calculators"
urlpatterns = [
    path("", views.calculator_list, name="list"),
    path("<slug:slug>/", views.calculator_detail, name="detail"),
]
