"""Routes of the nonconformities API and of the re-evaluation of a reverse trace, mounted
under /api/v1/ beside the router's."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .reevaluation import StandardImpactReevaluationView
from .views import LettersView, NonconformityViewSet

router = SimpleRouter()
router.register("nonconformities", NonconformityViewSet, basename="nonconformity")

urlpatterns = [
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
