from django.urls import path

from dsr import views

app_name = "dsr"

urlpatterns = [
    path("requests/", views.request_form, name="request"),
    path("requests/confirm/<str:token>/", views.confirm, name="confirm"),
    path("requests/agent/<str:token>/", views.agent_confirm, name="agent-confirm"),
    path("requests/download/<str:token>/", views.download, name="download"),
    path("requests/status/<str:token>/", views.status, name="status"),
]
