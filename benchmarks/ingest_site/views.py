"""The baseline of the ingest benchmark: a bare DRF endpoint that only inserts the rows.

It takes the same JSON body as ``POST /api/v1/runs/`` and inserts the same
``Point`` and ``Reading`` rows (20 + 200 for the benchmark's run) with plain
``ModelSerializer(many=True)`` and ``serializer.save()``, DRF's defaults: one
``INSERT`` per row, one query per row for each primary-key related field, the
uniqueness validator DRF derives from ``Point``'s (run, index) constraint. The
whole request is one transaction, as the real endpoint's is. It does nothing
else: no signature check, no payload validation beyond the serializers' field
types, no re-evaluation (the agent's result is stored as both results), no
standards, no job state, no audit entry. The parent ``Run`` row is created by
the benchmark beforehand (its id is the body's ``run_id``), as the real
endpoint's job is. Authentication and parsing are the project's DRF defaults
(the same token header as the real endpoint).

``FloorView`` is not the target's baseline but context: the same rows built straight
from the body and written with two ``bulk_create`` calls, no validation at all; the
least any endpoint that stores them can cost on this server.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labserver.measurements.models import Point, Reading


class PointRow(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Point
        fields = (
            "run",
            "index",
            "test",
            "nominal",
            "unit",
            "model",
            "output",
            "readings_quantity",
            "acceptance",
            "agent_result",
            "server_result",
            "agent_conformity",
            "server_conformity",
            "disagreement",
        )


class ReadingRow(serializers.ModelSerializer):  # type: ignore[type-arg]
    class Meta:
        model = Reading
        fields = ("point", "index", "value", "unit", "timestamp", "stable", "raw")


class BaselineView(APIView):
    def post(self, request: Request) -> Response:
        body: dict[str, Any] = request.data
        with transaction.atomic():
            points = PointRow(
                data=[
                    {
                        "run": body["run_id"],
                        "index": p["index"],
                        "test": p["test"],
                        "nominal": p["nominal"],
                        "unit": p["unit"],
                        "model": p["model"],
                        "output": p["output"],
                        "readings_quantity": p["readings_quantity"],
                        "acceptance": p.get("acceptance") or {},
                        "agent_result": p["result"],
                        "server_result": p["result"],
                        "agent_conformity": p.get("conformity", ""),
                        "server_conformity": p.get("conformity", ""),
                        "disagreement": [],
                    }
                    for p in body["points"]
                ],
                many=True,
            )
            points.is_valid(raise_exception=True)
            stored = points.save()
            readings = ReadingRow(
                data=[
                    {"point": point.pk, "index": j, **r}
                    for point, p in zip(stored, body["points"], strict=True)
                    for j, r in enumerate(p["readings"])
                ],
                many=True,
            )
            readings.is_valid(raise_exception=True)
            readings.save()
        return Response(
            {
                "run_id": body["run_id"],
                "points": len(stored),
                "readings": len(readings.validated_data),
            },
            status=status.HTTP_201_CREATED,
        )


class FloorView(APIView):
    def post(self, request: Request) -> Response:
        body: dict[str, Any] = request.data
        with transaction.atomic():
            points = Point.objects.bulk_create(
                Point(
                    run_id=body["run_id"],
                    index=p["index"],
                    test=p["test"],
                    nominal=p["nominal"],
                    unit=p["unit"],
                    model=p["model"],
                    output=p["output"],
                    readings_quantity=p["readings_quantity"],
                    acceptance=p.get("acceptance") or {},
                    agent_result=p["result"],
                    server_result=p["result"],
                    agent_conformity=p.get("conformity", ""),
                    server_conformity=p.get("conformity", ""),
                    disagreement=[],
                )
                for p in body["points"]
            )
            readings = Reading.objects.bulk_create(
                Reading(point=point, index=j, **r)
                for point, p in zip(points, body["points"], strict=True)
                for j, r in enumerate(p["readings"])
            )
        return Response(
            {"run_id": body["run_id"], "points": len(points), "readings": len(readings)},
            status=status.HTTP_201_CREATED,
        )
