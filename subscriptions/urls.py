from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("preferences/", views.center, name="center"),
    path("preferences/<str:token>/", views.center_entry, name="center-entry"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("leave/<str:token>/", views.leave, name="leave"),
    path("lists/<slug:slug>/", views.signup, name="signup"),
]
