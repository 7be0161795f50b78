from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Consent Office"
admin.site.site_title = "Consent Office"
admin.site.index_title = "Privacy back office"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("", include("subscriptions.urls")),
]
