from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("", views.account_list, name="list"),
    path("needs-attention/", views.needs_attention, name="needs_attention"),
    path("branding/", views.branding, name="branding"),
]
