from django.urls import path

from . import views

urlpatterns = [
    path("", views.register, name="standards"),
    path("new/", views.new_standard, name="standard-new"),
    path("<int:pk>/", views.standard, name="standard"),
    path("<int:pk>/certificates/", views.record_certificate, name="standard-certificate"),
    path(
        "certificates/<int:pk>/document/",
        views.certificate_document,
        name="standard-certificate-document",
    ),
]
