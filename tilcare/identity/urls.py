from tilcare.identity.views import alerts, labels, shipments

app_name = "identity"
urlpatterns = [*labels.urlpatterns, *alerts.urlpatterns, *shipments.urlpatterns]
