from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("preferences/", views.center, name="center"),
    # Before the token route, which would take "link" for a token.
    path("preferences/link/", views.center_link_request, name="center-link-request"),
    path("preferences/<str:token>/", views.center_entry, name="center-entry"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("lists/<slug:slug>/", views.signup, name="signup"),
]
