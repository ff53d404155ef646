from django.urls import path

from . import views

urlpatterns = [
    path("", views.certificates, name="certificates"),
    path("labels.pdf", views.labels, name="certificate-labels"),
    path("<int:pk>/", views.certificate, name="certificate"),
    path("<int:pk>/amend/", views.amend, name="certificate-amend"),
    path("<int:pk>/revoke/", views.revoke, name="certificate-revoke"),
]
