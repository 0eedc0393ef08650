from django.urls import path

from webhooks import views

# The console's Webhooks page.
app_name = "webhooks"

urlpatterns = [
    path("", views.endpoint_list, name="list"),
    path("new/", views.endpoint_create, name="create"),
    path("<int:endpoint_id>/", views.endpoint_detail, name="detail"),
    path("<int:endpoint_id>/edit/", views.endpoint_edit, name="edit"),
    path("<int:endpoint_id>/rotate/", views.endpoint_rotate, name="rotate"),
    path("<int:endpoint_id>/test/", views.endpoint_test, name="test"),
    path("<int:endpoint_id>/delete/", views.endpoint_delete, name="delete"),
    path("<int:endpoint_id>/deliveries/<int:delivery_id>/resend/", views.delivery_resend,
         name="resend"),
]
