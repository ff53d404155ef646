from django.urls import include, path

app_name = "office"

urlpatterns = [
    path("office/customers/", include("labserver.office.customers.urls")),
    path("office/jobs/", include("labserver.office.jobs.urls")),
    path("office/standards/", include("labserver.office.standards.urls")),
    path("office/certificates/", include("labserver.office.certificates.urls")),
    path("office/people/", include("labserver.office.people.urls")),
    path("office/requests/", include("labserver.office.requests.urls")),
    path("office/lots/", include("labserver.office.lots.urls")),
    path("office/registers/", include("labserver.office.registers.urls")),
]
