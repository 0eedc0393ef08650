"""Customer-facing install pages, reached through install links (no console login)."""

from django.urls import path  # noqa: F401

app_name = "install"

urlpatterns: list = []
