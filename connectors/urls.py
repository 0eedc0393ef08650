from django.urls import path

import accounts.views
from connectors import views

app_name = "connectors"

urlpatterns = [
    path("", views.library, name="library"),
    path("callback", accounts.views.callback, name="callback"),
    path("guides/", views.guides, name="guides"),
    path("<slug:slug>/settings/", views.auth_settings, name="settings"),
    path("<slug:slug>/guide/", views.guide, name="guide"),
]
