from django.urls import path

from subscriptions import views

app_name = "subscriptions"

urlpatterns = [
    path("preferences/", views.center, name="center"),
    # Before the token pattern below, which would take these words for a token.
    path("preferences/link/", views.center_link_request, name="center-link-request"),
    path("preferences/resend/", views.center_resend, name="center-resend"),
    path("preferences/rejoin/", views.center_rejoin, name="center-rejoin"),
    path("preferences/receipt/", views.center_receipt, name="center-receipt"),
    path("preferences/<str:token>/", views.center_entry, name="center-entry"),
    path("preferences/<str:token>/receipt/", views.center_receipt_by_link, name="center-receipt-link"),
    path("confirm/<str:token>/", views.confirm, name="confirm"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("leave/<str:token>/", views.leave, name="leave"),
    path("unsubscribe/<str:token>/undo/", views.unsubscribe_undo, name="unsubscribe-undo"),
    path("lists/<slug:slug>/", views.signup, name="signup"),
    path("privacy-choices/", views.privacy_choices, name="privacy-choices"),
]
