from django.urls import path

from links import branding, views

# The console's install link and Branding pages (under /accounts/, beside the accounts).
app_name = "links"

urlpatterns = [
    path("branding/", branding.branding, name="branding"),
    path("branding/logo/", branding.branding_logo, name="branding_logo"),
    path("branding/preview/", branding.branding_preview, name="branding_preview"),
    path("<int:account_id>/install-links/new/", views.link_create, name="link_create"),
    path("<int:account_id>/install-links/<int:link_id>/revoke/", views.link_revoke,
         name="link_revoke"),
]
