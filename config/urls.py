from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from core import health, metrics
from installs import callback
from teams import password_reset, security_views
from teams.views import ConsoleLoginView

admin.site.site_header = "Hatchway support"
admin.site.site_title = "Hatchway support"

urlpatterns = [
    # The partner API first: it is the hot path (a backend's credentials reads and proxied
    # calls), and Django tries the patterns in order on every request.
    path("api/", include("api.urls")),
    path("", RedirectView.as_view(pattern_name="connectors:library"), name="home"),
    path("healthz/live", health.live, name="healthz_live"),
    path("healthz/ready", health.ready, name="healthz_ready"),
    path("metrics", metrics.metrics, name="metrics"),
    path("login/", ConsoleLoginView.as_view(), name="login"),
    path("login/code", security_views.login_code, name="login_code"),
    path("login/passkey/begin", security_views.login_passkey_begin, name="login_passkey_begin"),
    path("login/passkey/sign-in/begin", security_views.sign_in_passkey_begin,
         name="sign_in_passkey_begin"),
    path("login/passkey/sign-in/complete", security_views.sign_in_passkey_complete,
         name="sign_in_passkey_complete"),
    path("login/passkey/complete", security_views.login_passkey_complete,
         name="login_passkey_complete"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", password_reset.ResetRequestView.as_view(), name="password_reset"),
    path("password-reset/sent", password_reset.ResetDoneView.as_view(),
         name="password_reset_done"),
    path("reset/<uidb64>/<token>/", password_reset.ResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("reset/done", password_reset.ResetCompleteView.as_view(),
         name="password_reset_complete"),
    # Each connector's own callback URL, and the one they all shared before (kept for
    # sign-ins begun with it; see connectors.services.callback_url).
    path("connectors/<slug:slug>/callback", callback.callback, name="connector_callback"),
    path("connectors/callback", callback.callback, name="callback"),
    path("connectors/", include("connectors.urls")),
    path("accounts/", include("installs.urls")),
    path("accounts/", include("links.urls")),
    path("install/", include("links.customer_urls")),
    path("webhooks/", include("webhooks.urls")),
    path("api-keys/", include("api.console_urls")),
    path("", include("teams.urls")),
    path("", include("sso.urls")),
    path("admin/", admin.site.urls),
]

if settings.SANDBOX_ENABLED:
    from sandbox.views import oauth2_metadata

    urlpatterns += [
        path("sandbox/", include("sandbox.urls")),
        # RFC 8414 §3: the well-known path goes before the issuer's path ("/sandbox").
        path(".well-known/oauth-authorization-server/sandbox", oauth2_metadata,
             name="sandbox_oauth2_metadata"),
    ]
