"""The baseline of the public lookup: a bare DRF get-by-key endpoint.

A ``RetrieveAPIView`` on the issued certificate model, ``lookup_field = "number"`` (the
unique index the public lookup uses too), a plain ``ModelSerializer`` of a few of the
certificate's own columns: one indexed query, no joins, no status. Anonymous, as the
public lookup is (``AllowAny``); everything else is the project's DRF defaults, as any
endpoint of the LIMS gets them: the authentication classes (no header: nothing to look
up), the filter backends that ``get_object`` applies (no query parameters: they add no
SQL), the JSON renderer and the exception handler. Its query is planned by PostgreSQL on
every request, as the ORM's queries are.
"""

from __future__ import annotations

from rest_framework import generics, permissions, serializers

from labserver.issuance.models import Certificate


class BareCertificate(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Certificate
        fields = ("number", "kind", "issued_at", "pdf_sha256")


class BareCertificateView(generics.RetrieveAPIView):  # type: ignore[type-arg]
    queryset = Certificate.objects.all()
    serializer_class = BareCertificate
    lookup_field = "number"
    permission_classes = (permissions.AllowAny,)
