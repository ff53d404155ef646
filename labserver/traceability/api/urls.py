"""Routes of the traceability API, mounted under /api/v1/ beside the router's."""

from django.urls import path

from .views import (
    CertificateChainView,
    RegistryImpactView,
    StandardChainView,
    StandardImpactView,
)

urlpatterns = [
    path("certificates/<int:pk>/chain/", CertificateChainView.as_view(), name="certificate-chain"),
    path("standards/<int:pk>/chain/", StandardChainView.as_view(), name="standard-chain"),
    path("standards/<int:pk>/impact/", StandardImpactView.as_view(), name="standard-impact"),
    path("registry/impact/", RegistryImpactView.as_view(), name="registry-impact"),
]
