from django.urls import path

from connectors import views

app_name = "connectors"

# `connectors/callback` (the sign-in flow's, installs/) is routed in config/urls.py.
urlpatterns = [
    path("", views.library, name="library"),
    path("guides/", views.guides, name="guides"),
    path("<slug:slug>/settings/", views.auth_settings, name="settings"),
    path("<slug:slug>/guide/", views.guide, name="guide"),
]
