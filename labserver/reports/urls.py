from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("quality/reports/", views.index, name="index"),
    path("quality/reports/<slug:slug>.csv", views.download, name="csv"),
]
