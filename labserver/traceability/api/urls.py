"""Routes of the traceability API, mounted under /api/v1/ beside the router's."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .nonconformities import LettersView, NonconformityViewSet
from .views import (
    CertificateChainView,
    StandardChainView,
    StandardImpactReevaluationView,
    StandardImpactView,
)

router = SimpleRouter()
router.register("nonconformities", NonconformityViewSet, basename="nonconformity")

urlpatterns = [
    path("certificates/<int:pk>/chain/", CertificateChainView.as_view(), name="certificate-chain"),
    path("standards/<int:pk>/chain/", StandardChainView.as_view(), name="standard-chain"),
    path("standards/<int:pk>/impact/", StandardImpactView.as_view(), name="standard-impact"),
    path(
        "standards/<int:pk>/impact/reevaluate/",
        StandardImpactReevaluationView.as_view(),
        name="standard-impact-reevaluate",
    ),
    path(
        "nonconformities/<int:pk>/letters.pdf", LettersView.as_view(), name="nonconformity-letters"
    ),
    *router.urls,
]
