from django.urls import path

from installs import views

# The console's pages under /accounts/: accounts and their installs.
app_name = "accounts"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("new/", views.account_create, name="create"),
    path("<int:account_id>/", views.account_detail, name="detail"),
    path("<int:account_id>/edit/", views.account_edit, name="edit"),
    path("<int:account_id>/delete/", views.account_delete, name="delete"),
    path("<int:account_id>/install/", views.install_pick, name="install_pick"),
    path("<int:account_id>/install/<slug:slug>/", views.install_new, name="install_new"),
    path("<int:account_id>/installs/<int:install_id>/", views.install_detail, name="install"),
    path("<int:account_id>/installs/<int:install_id>/edit/", views.install_edit,
         name="install_edit"),
    path("<int:account_id>/installs/<int:install_id>/authenticate/", views.install_authenticate,
         name="install_authenticate"),
    path("<int:account_id>/installs/<int:install_id>/test/", views.install_test,
         name="install_test"),
    path("<int:account_id>/installs/<int:install_id>/deauthenticate/",
         views.install_deauthenticate, name="install_deauthenticate"),
    path("<int:account_id>/installs/<int:install_id>/delete/", views.install_delete,
         name="install_delete"),
    path("needs-attention/", views.needs_attention, name="needs_attention"),
]
