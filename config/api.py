"""The REST API: /api/v1/ (resources), /api/schema/ (OpenAPI 3), /api/docs/ (browsable UI)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from consent.api import ConsentChangeViewSet, ContactViewSet, PurposeViewSet
from dsr.api import DataSubjectRequestViewSet
from imports.api import ImportRunViewSet, ImportSourceViewSet
from journeys.api import SegmentViewSet
from subscriptions.api import SubscriptionListViewSet, SubscriptionViewSet
from webhooks.api import DeliveryViewSet

router = DefaultRouter()
router.register("contacts", ContactViewSet, basename="contact")
router.register("consent-changes", ConsentChangeViewSet, basename="consentchange")
router.register("requests", DataSubjectRequestViewSet, basename="datasubjectrequest")
router.register("purposes", PurposeViewSet, basename="purpose")
router.register("lists", SubscriptionListViewSet, basename="subscriptionlist")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("segments", SegmentViewSet, basename="segment")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("import-sources", ImportSourceViewSet, basename="importsource")
router.register("import-runs", ImportRunViewSet, basename="importrun")

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
