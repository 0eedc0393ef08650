from django.urls import path

from teams import security_views, views

app_name = "teams"

urlpatterns = [
    path("members/", views.member_list, name="members"),
    path("members/invite", views.invite, name="invite"),
    path("members/invitations/<int:pk>/resend", views.resend, name="resend"),
    path("members/invitations/<int:pk>/revoke", views.revoke, name="revoke"),
    path("members/<int:pk>/role", views.change_role, name="change_role"),
    path("members/<int:pk>/remove", views.remove, name="remove"),
    path("partner/switch", views.switch_partner, name="switch_partner"),
    path("invitations/<str:token>/", views.accept, name="accept"),
    path("security/", security_views.security, name="security"),
    path("security/authenticator", security_views.confirm_totp, name="confirm_totp"),
    path("security/recovery-codes", security_views.recovery_codes, name="recovery_codes"),
    path("security/turn-off", security_views.turn_off, name="turn_off"),
    path("security/passkeys/begin", security_views.passkey_register_begin,
         name="passkey_register_begin"),
    path("security/passkeys/complete", security_views.passkey_register_complete,
         name="passkey_register_complete"),
    path("security/passkeys/<int:pk>/remove", security_views.passkey_remove,
         name="passkey_remove"),
    path("security/password", security_views.PasswordChangeView.as_view(),
         name="password_change"),
    path("security/sessions/<int:pk>/end", security_views.end_session, name="end_session"),
    path("security/sessions/end-others", security_views.end_other_sessions,
         name="end_other_sessions"),
    path("login/recovery/<str:uidb64>/<str:token>/", security_views.recovery_sign_in,
         name="recovery_sign_in"),
    path("members/require-two-factor", security_views.require_two_factor,
         name="require_two_factor"),
]
