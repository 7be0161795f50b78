from django.urls import path

from journeys import views

app_name = "journeys"

urlpatterns = [path("forward/<str:token>/", views.forward, name="forward")]
