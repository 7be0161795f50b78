from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from consent.views import compliance_dashboard, verify_trail

admin.site.site_header = "Consent Office"
admin.site.site_title = "Consent Office"
admin.site.index_title = "Privacy back office"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/dashboard/", admin.site.admin_view(compliance_dashboard), name="consent-dashboard"),
    path("admin/dashboard/verify/", admin.site.admin_view(verify_trail), name="consent-verify-trail"),
    path("admin/", admin.site.urls),
    path("api/", include("config.api")),
    path("", include("subscriptions.urls")),
]
