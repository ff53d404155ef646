from django.urls import path

from . import batch, views

app_name = "work"

urlpatterns = [
    path("work/jobs/", views.jobs, name="jobs"),
    path("work/batch/", batch.start, name="batch-start"),
    path("work/batch/<str:act>/", batch.batch, name="batch"),
    path("work/runs/<uuid:run_id>/", views.run_page, name="run"),
    path("work/runs/<uuid:run_id>/review/", views.review, name="review"),
    path("work/runs/<uuid:run_id>/approve/", views.approve, name="approve"),
    path("work/runs/<uuid:run_id>/reject/", views.reject, name="reject"),
    path("work/runs/<uuid:run_id>/issue/", views.issue, name="issue"),
    path("work/runs/<uuid:run_id>/preview.pdf", views.preview, name="preview"),
    path("work/certificates/<int:pk>/", views.certificate_issued, name="certificate-issued"),
    path("work/certificates/<int:pk>/pdf/", views.certificate_pdf, name="certificate-pdf"),
    path("work/certificates/<int:pk>/dcc/", views.certificate_dcc, name="certificate-dcc"),
]
