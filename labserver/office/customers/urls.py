from django.urls import path

from . import views

urlpatterns = [
    path("", views.customers, name="customers"),
    path("new/", views.customer_new, name="customer-new"),
    path("<int:customer_id>/", views.customer_page, name="customer"),
    path("<int:customer_id>/edit/", views.customer_edit, name="customer-edit"),
    path("<int:customer_id>/deactivate/", views.customer_deactivate, name="customer-deactivate"),
    path("<int:customer_id>/instruments/new/", views.instrument_new, name="instrument-new"),
    path(
        "<int:customer_id>/instruments/import/", views.instrument_import, name="instrument-import"
    ),
    path("instruments/template.csv", views.import_template, name="instrument-template"),
    path("instruments/<int:instrument_id>/edit/", views.instrument_edit, name="instrument-edit"),
    path(
        "instruments/<int:instrument_id>/deactivate/",
        views.instrument_deactivate,
        name="instrument-deactivate",
    ),
]
