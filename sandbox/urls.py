"""The sandbox's endpoints. Catalogue entries point at these paths under {public_url}."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "sandbox"

urlpatterns = [
    path("oauth2/authorize", views.oauth2_authorize, name="oauth2_authorize"),
    path("oauth2/token", views.oauth2_token, name="oauth2_token"),
    path("oauth2/revoke", views.oauth2_revoke, name="oauth2_revoke"),
    path("oauth1/request_token", views.oauth1_request_token, name="oauth1_request_token"),
    path("oauth1/authorize", views.oauth1_authorize, name="oauth1_authorize"),
    path("oauth1/access_token", views.oauth1_access_token, name="oauth1_access_token"),
    path("two-step/signin", views.two_step_signin, name="two_step_signin"),
    path("apps/<slug:slug>/installations/new", views.app_install, name="app_install"),
    path("app/installations/<str:installation_id>/access_tokens", views.app_access_tokens,
         name="app_access_tokens"),
    path("installation/token", views.app_revoke_token, name="app_revoke_token"),
    path("login/oauth/access_token", views.app_installer_token, name="app_installer_token"),
    path("user/installations", views.app_user_installations, name="app_user_installations"),
    path("jwt-bearer/token", views.jwt_bearer_token, name="jwt_bearer_token"),
    path("api/me", views.api_me, name="api_me"),
    # Discovery (RFC 8414 at the OIDC path), RFC 7591 registration, an MCP-like resource.
    path(".well-known/openid-configuration", views.oauth2_metadata, name="oauth2_metadata"),
    path("oauth2/register", views.oauth2_register, name="oauth2_register"),
    path("mcp", views.mcp, name="mcp"),
    path("mcp/metadata", views.mcp_metadata, name="mcp_metadata"),
]
