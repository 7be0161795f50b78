from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.login_throttle import throttled_admin_login
from core.models import ComplianceSettings
from dsr.staff_admin import staff_logs_view
from journeys.insights import contact_insights_view
from operations.views import health_page
from reports.send_consents import send_consent_export
from reports.views import compliance_dashboard, compliance_report, processing_register, verify_trail
from staff.second_factor_views import enrol_view, reset_view, staff_devices_view, verify_view
from staff.sso_views import SsoCallbackView, SsoLoginView

admin.site.site_header = "Consent Office"
admin.site.site_title = "Consent Office"
admin.site.index_title = "Privacy back office"

# The data-protection tools switch (compliance settings): off, the consent and data subject
# request areas leave the admin's index, app pages and sidebar. Only the menus: every record stays
# and the compliance settings (to switch back on) stay reachable.
DATA_PROTECTION_APPS = {"consent", "dsr"}
_full_app_list = admin.site.get_app_list


def _app_list(request, app_label=None):
    apps = _full_app_list(request, app_label)
    if ComplianceSettings.data_protection_tools_shown():
        return apps
    return [app for app in apps if app["app_label"] not in DATA_PROTECTION_APPS]


admin.site.get_app_list = _app_list

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/dashboard/", admin.site.admin_view(compliance_dashboard), name="consent-dashboard"),
    path("admin/dashboard/report/", admin.site.admin_view(compliance_report), name="consent-report"),
    path(
        "admin/dashboard/records-of-processing/",
        admin.site.admin_view(processing_register),
        name="processing-register",
    ),
    path("admin/dashboard/sends/", admin.site.admin_view(send_consent_export), name="consent-send-export"),
    path("admin/dashboard/verify/", admin.site.admin_view(verify_trail), name="consent-verify-trail"),
    path("admin/health/", admin.site.admin_view(health_page), name="operations-health"),
    path("admin/staff/logs-about-staff/", admin.site.admin_view(staff_logs_view), name="staff-logs"),
    path(
        "admin/contacts/contact/<int:object_id>/insights/",
        admin.site.admin_view(contact_insights_view),
        name="contact-insights",
    ),
    path("admin/login/", throttled_admin_login, name="admin-login"),
    # Single sign-on (staff.sso): 404 unless configured.
    path("admin/sso/login/", SsoLoginView.as_view(), name="staff-sso-login"),
    path("admin/sso/callback/", SsoCallbackView.as_view(), name="staff-sso-callback"),
    path("admin/second-factor/", admin.site.admin_view(verify_view), name="second-factor-verify"),
    path("admin/second-factor/enrol/", admin.site.admin_view(enrol_view), name="second-factor-enrol"),
    path("admin/staff/second-factor/", admin.site.admin_view(staff_devices_view), name="second-factor-staff"),
    path("admin/second-factor/passkeys/", include("django_otp_webauthn.urls", namespace="otp_webauthn")),
    path(
        "admin/staff/second-factor/<int:user_id>/reset/",
        admin.site.admin_view(reset_view),
        name="second-factor-reset",
    ),
    path("admin/", admin.site.urls),
    path("api/", include("config.api")),
    path("", include("core.urls")),
    # The public pages' language switcher (Django's set_language: POST, CSRF, a same-site `next` only).
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("operations.urls")),
    path("", include("subscriptions.urls")),
    path("", include("dsr.urls")),
    path("", include("journeys.urls")),
    path("", include("webhooks.urls")),
    path("anymail/", include("mailsignals.urls")),
]

# Below /api/ a URL nothing answers, or a request Django itself refuses, gets JSON, as the API
# schema documents.
handler400 = "staff.api_base.bad_request"
handler404 = "staff.api_base.not_found"
