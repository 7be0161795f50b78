from django.urls import path

from journeys import views

app_name = "journeys"

urlpatterns = [
    path("forward/<str:token>/", views.forward, name="forward"),
    # Opens and clicks of journey emails (journeys.tracking): public, reached from the email.
    path("t/c/<str:token>/", views.click, name="click"),
    path("t/o/<str:token>.gif", views.open_pixel, name="open"),
]
