"""The LIMS's own URLs, unchanged, plus the baseline ``/bench/certificates/<number>``."""

from django.urls import include, path

from .views import BareCertificateView

urlpatterns = [
    path("bench/certificates/<str:number>", BareCertificateView.as_view(), name="bench-bare"),
    path("", include("labserver.urls")),
]
