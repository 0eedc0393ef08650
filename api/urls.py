"""The partner API under /api/v1/, its schema, and the docs under /api/docs/."""

from __future__ import annotations

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from api import auth_settings, connector_views, proxy_views, views

app_name = "api"

urlpatterns = [
    # The two calls a partner's backend makes most, first (patterns are tried in order).
    path("v1/installs/<int:install_id>/credentials", views.InstallCredentials.as_view(),
         name="install_credentials"),
    # `path` may be empty: the base URL itself (an MCP server's one endpoint is its URL).
    re_path(r"^v1/proxy/(?P<install_id>[0-9]+)/(?P<path>.*)$", proxy_views.Proxy.as_view(),
            name="proxy"),
    path("v1/connectors", connector_views.ConnectorList.as_view(), name="connectors"),
    path("v1/connectors/<slug:slug>", connector_views.ConnectorDetail.as_view(), name="connector"),
    path("v1/connectors/<slug:slug>/retire", connector_views.ConnectorRetire.as_view(),
         name="connector_retire"),
    path("v1/connectors/<slug:slug>/restore", connector_views.ConnectorRestore.as_view(),
         name="connector_restore"),
    path("v1/connectors/<slug:slug>/settings", auth_settings.ConnectorSettings.as_view(),
         name="connector_settings"),
    path("v1/accounts", views.AccountList.as_view(), name="accounts"),
    path("v1/accounts/<str:external_id>", views.AccountDetail.as_view(), name="account"),
    path("v1/accounts/<str:external_id>/installs", views.AccountInstalls.as_view(),
         name="account_installs"),
    path("v1/accounts/<str:external_id>/install-links", views.AccountInstallLinks.as_view(),
         name="account_install_links"),
    path("v1/installs/<int:install_id>", views.InstallDetail.as_view(), name="install"),
    path("v1/installs/<int:install_id>/verify", views.InstallVerify.as_view(),
         name="install_verify"),
    path("v1/installs/<int:install_id>/deauthenticate", views.InstallDeauthenticate.as_view(),
         name="install_deauthenticate"),
    path("v1/install-links/<int:link_id>", views.InstallLinkDetail.as_view(),
         name="install_link"),
    path("v1/events", views.EventList.as_view(), name="events"),
    path("v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", views.ApiDocs.as_view(url_name="api:schema"), name="docs"),
    re_path(r"^v1/", views.NotFoundView.as_view(), name="not_found"),
]
