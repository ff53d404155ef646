"""URLs: the REST API under /api/v1/, its OpenAPI schema and docs, the admin."""

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from labserver.accounts.api.views import (
    AgentViewSet,
    MeView,
    OrganizationViewSet,
    UserLockViewSet,
)
from labserver.core.throttles import LookupThrottle
from labserver.instruments.api.views import (
    InstrumentTypeViewSet,
    InstrumentViewSet,
    PatternViewSet,
)
from labserver.issuance.api.views import (
    CertificateViewSet,
    PublicCertificateView,
    RegistryDocumentView,
    SigningKeyViewSet,
    VerifyView,
)
from labserver.issuance.views import verify_page
from labserver.jobs.api.views import JobViewSet, ProcedureViewSet
from labserver.measurements.api.views import RunViewSet
from labserver.oversight.api import AuditAnchorList, AuditEntryViewSet
from labserver.standards.api.views import StandardViewSet

router = DefaultRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("agents", AgentViewSet, basename="agent")
router.register("users", UserLockViewSet, basename="user")
router.register("instrument-types", InstrumentTypeViewSet, basename="instrument-type")
router.register("patterns", PatternViewSet, basename="pattern")
router.register("instruments", InstrumentViewSet, basename="instrument")
router.register("standards", StandardViewSet, basename="standard")
router.register("procedures", ProcedureViewSet, basename="procedure")
router.register("jobs", JobViewSet, basename="job")
router.register("runs", RunViewSet, basename="run")
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("certificates", CertificateViewSet, basename="certificate")
router.register("signing-keys", SigningKeyViewSet, basename="signing-key")

# Under /api/ a URL no route matches, or an unhandled error, answers the API's JSON error
# body; a database that cannot be reached outside a view answers 503, not 500.
handler404 = "labserver.core.views.not_found"
handler500 = "labserver.core.views.server_error"

urlpatterns = [
    # Before the router: its audit/<pk>/ would otherwise take "anchors" for an entry's id.
    path("api/v1/audit/anchors/", AuditAnchorList.as_view(), name="audit-anchors"),
    path("api/v1/", include("labserver.traceability.api.urls")),
    path("api/v1/", include("labserver.nonconformities.api.urls")),
    path("api/v1/", include("labserver.accounts.api.registers")),
    path("api/v1/", include(router.urls)),
    path("api/v1/me/", MeView.as_view(), name="me"),
    path("api/v1/verify", VerifyView.as_view(), name="verify"),
    path(
        "api/v1/public/certificates/<str:number>",
        PublicCertificateView.as_view(),
        name="public-certificate",
    ),
    path(
        "api/v1/registry/documents/<str:number>.pdf",
        RegistryDocumentView.as_view(),
        name="registry-document",
    ),
    path("verify/<str:number>", verify_page, name="verify-page"),
    # Anyone may read the schema and its documentation page (drf-spectacular's default):
    # limited per address like a look-up, since the schema is generated at each request.
    # The split view serves its start-up script as a file, and web/api_docs.html its styles,
    # which our Content-Security-Policy allows (inline ones it refuses); Swagger UI draws
    # its icons from data: URLs, allowed as images on that page only.
    path(
        "api/schema/",
        SpectacularAPIView.as_view(throttle_classes=[LookupThrottle]),
        name="schema",
    ),
    path(
        "api/docs/",
        csp_update({"img-src": ["data:"]})(
            SpectacularSwaggerSplitView.as_view(
                url_name="schema",
                template_name="web/api_docs.html",
                throttle_classes=[LookupThrottle],
            )
        ),
        name="api-docs",
    ),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("labserver.portal.urls")),
    path("", include("labserver.work.urls")),
    path("", include("labserver.oversight.urls")),
    path("", include("labserver.office.urls")),
    path("", include("labserver.reports.urls")),
    path("", include("labserver.notifications.urls")),
    path("", include("labserver.search.urls")),
    path("", include("labserver.web.urls")),
]
