from django.urls import path

from webhooks.views import confirm_view

urlpatterns = [path("webhooks/<int:endpoint_id>/confirm/", confirm_view, name="webhooks-confirm")]
