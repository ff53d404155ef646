from django.urls import path

from . import request_pages, views

app_name = "portal"

urlpatterns = [
    path("portal/instruments/", views.instruments, name="instruments"),
    path("portal/instruments/<int:pk>/", views.instrument, name="instrument"),
    path("portal/requests/", request_pages.request_list, name="requests"),
    path("portal/requests/new/", request_pages.request_new, name="request-new"),
    path("portal/requests/<int:pk>/", request_pages.request_detail, name="request"),
    path("portal/requests/<int:pk>/cancel/", request_pages.request_cancel, name="request-cancel"),
    path("portal/certificates/<str:number>.pdf", views.certificate_pdf, name="certificate-pdf"),
    path("open-data/", views.open_data, name="open-data"),
    path("open-data/datasets.json", views.datasets, name="datasets"),
    path("open-data/<slug:slug>.csv", views.dataset_csv, name="dataset-csv"),
    path("open-data/<slug:slug>.json", views.dataset_json, name="dataset-json"),
    path("standards/register/", views.standards_register, name="standards-register"),
]
