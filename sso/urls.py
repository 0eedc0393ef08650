from django.urls import path

from sso import views

app_name = "sso"

urlpatterns = [
    path("single-sign-on/", views.settings_page, name="settings"),
    path("login/sso/", views.start, name="start"),
    path("login/sso/callback", views.callback, name="callback"),
]
