from django.urls import path

from . import locks, views
from . import nonconformities as ncs

app_name = "oversight"

urlpatterns = [
    path("audit/search/", views.search, name="search"),
    path("audit/certificates/<int:pk>/chain/", views.certificate_chain, name="certificate-chain"),
    path("audit/standards/<int:pk>/chain/", views.standard_chain, name="standard-chain"),
    path("audit/standards/<int:pk>/impact/", views.standard_impact, name="standard-impact"),
    path(
        "audit/standards/<int:pk>/impact.pdf", views.standard_impact_pdf, name="standard-impact-pdf"
    ),
    path("quality/", views.quality, name="quality"),
    path("quality/audit/", views.audit_log, name="audit-log"),
    path("quality/locks/", locks.locked_accounts, name="locks"),
    path("quality/locks/<int:user_id>/unlock/", locks.unlock, name="unlock"),
    path("quality/nonconformities/", ncs.nonconformities, name="nonconformities"),
    path("quality/nonconformities/<int:pk>/", ncs.nonconformity, name="nonconformity"),
    path("quality/nonconformities/<int:pk>/decide/", ncs.decide, name="nonconformity-decide"),
    path("quality/nonconformities/<int:pk>/close/", ncs.close, name="nonconformity-close"),
    path(
        "quality/nonconformities/<int:pk>/letters.pdf",
        ncs.letters_pdf,
        name="nonconformity-letters",
    ),
]
