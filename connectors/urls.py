from django.urls import path

from connectors import views

app_name = "connectors"

urlpatterns = [
    path("", views.library, name="library"),
]
