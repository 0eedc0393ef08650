from django.urls import path

from api import console

# The console's "API keys" page.
app_name = "api_keys"

urlpatterns = [
    path("", console.key_list, name="list"),
    path("<int:key_id>/revoke/", console.key_revoke, name="revoke"),
]
