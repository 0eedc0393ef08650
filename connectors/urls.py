from django.urls import path

from connectors import views

app_name = "connectors"

# `connectors/<slug>/callback` and `connectors/callback` (the sign-in flow's, installs/)
# are routed in config/urls.py.
urlpatterns = [
    path("", views.library, name="library"),
    path("guides/", views.guides, name="guides"),
    path("<slug:slug>/settings/", views.auth_settings, name="settings"),
    path("<slug:slug>/settings/callback/", views.switch_callback, name="switch_callback"),
    path("<slug:slug>/guide/", views.guide, name="guide"),
]
