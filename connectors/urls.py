from django.urls import path

from connectors import custom_views, views

app_name = "connectors"

# `connectors/<slug>/callback` and `connectors/callback` (the sign-in flow's, installs/)
# are routed in config/urls.py.
urlpatterns = [
    path("", views.library, name="library"),
    path("guides/", views.guides, name="guides"),
    path("custom/", custom_views.custom_list, name="custom_list"),
    path("custom/new/", custom_views.custom_new, name="custom_new"),
    path("custom/<slug:slug>/", custom_views.custom_detail, name="custom_detail"),
    path("custom/<slug:slug>/retire/", custom_views.custom_retire, name="custom_retire"),
    path("custom/<slug:slug>/delete/", custom_views.custom_delete, name="custom_delete"),
    path("<slug:slug>/settings/", views.auth_settings, name="settings"),
    path("<slug:slug>/settings/callback/", views.switch_callback, name="switch_callback"),
    path("<slug:slug>/guide/", views.guide, name="guide"),
]
