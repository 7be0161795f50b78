from django.urls import path

from core.views import organisation_logo

app_name = "core"

urlpatterns = [
    path("organisation/logo/<str:name>", organisation_logo, name="organisation-logo"),
]
