from django.urls import URLPattern

app_name = "manufacturing"
urlpatterns: list[URLPattern] = []
