"""Customer-facing install pages, reached through install links (no console login)."""

from django.urls import path, register_converter

from links import customer_views as install_views


class ColourConverter:
    regex = "[0-9a-f]{6}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ColourConverter, "colour")

app_name = "install"

# The fixed paths come first: a token never matches them (tokens are 43 characters).
urlpatterns = [
    path("theme/<colour:colour>.css", install_views.theme, name="theme"),
    path("done/", install_views.result, name="result"),
    path("done/continue/", install_views.continue_to_return_url, name="continue"),
    path("done/logo/", install_views.result_logo, name="result_logo"),
    path("done/reconnect/<int:install_id>/", install_views.result_reconnect,
         name="result_reconnect"),
    path("done/connect/<slug:slug>/", install_views.result_connect, name="result_connect"),
    path("<str:token>/", install_views.landing, name="landing"),
    path("<str:token>/logo/", install_views.logo, name="logo"),
    path("<str:token>/connect/<slug:slug>/", install_views.connect, name="connect"),
    path("<str:token>/reconnect/<int:install_id>/", install_views.reconnect, name="reconnect"),
]
