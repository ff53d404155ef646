"""The LIMS's own URLs, unchanged, plus the baseline ``/bench/baseline/`` and ``/bench/floor/``."""

from django.urls import include, path

from .views import BaselineView, FloorView

urlpatterns = [
    path("bench/baseline/", BaselineView.as_view(), name="bench-baseline"),
    path("bench/floor/", FloorView.as_view(), name="bench-floor"),
    path("", include("labserver.urls")),
]
