"""The agent↔LIMS contract: an outbox payload is valid against the request body the LIMS's
OpenAPI schema declares for ``POST /api/v1/runs/``; a broken one is not."""

from __future__ import annotations

import copy
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from agent.outbox import Outbox
from procedures.record import MeterIdentity, MeterRegister
from tests.support.agent import Lims, record_run
from tests.support.kept_outbox import RUNS, derived, kept, left_by_the_earlier_agent

SCHEMA_URN = "urn:caltrace:lims-openapi"


def live_schema(lims: Lims) -> dict[str, Any]:
    with urllib.request.urlopen(f"{lims.url}/api/schema/?format=json", timeout=30) as response:
        schema: dict[str, Any] = json.load(response)
    assert schema["openapi"].startswith("3.0")
    return schema


def validator(schema: dict[str, Any], ref: str) -> OAS30Validator:
    """A validator of the part ``ref`` (``#/components/schemas/...``) of ``schema``."""
    registry: Registry[Any] = Registry().with_resource(
        SCHEMA_URN, Resource.from_contents(schema, default_specification=DRAFT4)
    )
    return OAS30Validator(
        {"$ref": SCHEMA_URN + ref}, registry=registry, format_checker=oas30_format_checker
    )


@pytest.fixture
def run_body_validator(lims: Lims) -> OAS30Validator:
    """A validator of the request body of ``POST /api/v1/runs/``, from the live schema."""
    schema = live_schema(lims)
    body = schema["paths"]["/api/v1/runs/"]["post"]["requestBody"]
    ref = body["content"]["application/json"]["schema"]["$ref"]
    assert ref.startswith("#/components/schemas/RunIn")
    return validator(schema, ref)


def test_a_position_s_identity_read_satisfies_the_lims_schema(lims: Lims) -> None:
    """What the agent keeps of a meter read through its optical port is what a position of
    the schema takes; a register sent as a JSON number is not (its resolution is lost)."""
    schema = live_schema(lims)
    position = schema["components"]["schemas"]["PositionInRequest"]["properties"]["identity"]
    ref = next(part["$ref"] for part in position.get("allOf", [position]) if "$ref" in part)
    identity = MeterIdentity(
        protocol="iec62056-21",
        port="socket://192.0.2.9:4001",
        serial="EM-0001",
        serial_code="C.1.0",
        registers=(MeterRegister("1.8.0", "1234.50", "kWh"),),
        read_at="2026-12-06T08:00:00+00:00",
    ).to_json()
    check = validator(schema, ref)
    check.validate(identity)
    identity["registers"][0]["value"] = 1234.5
    with pytest.raises(ValidationError, match="is not of type 'string'"):
        check.validate(identity)


def test_an_outbox_payload_satisfies_the_lims_schema(
    lims: Lims, outbox: Outbox, run_body_validator: OAS30Validator
) -> None:
    payload = lims.payload(points=3, readings=5)
    payload["points"][0]["readings"][0]["stable"] = None  # nullable in the schema
    run_id = record_run(outbox, payload)
    body = json.loads(outbox.body(run_id) or b"")
    run_body_validator.validate(body)


@pytest.mark.parametrize("name", RUNS)
def test_a_runner_s_payload_with_its_checks_curves_and_ratios_satisfies_the_schema(
    run_body_validator: OAS30Validator, tmp_path: Path, name: str
) -> None:
    """A payload the runner made (pressure: hysteresis checks and 1/3-MPE checks; bath: a
    generalized correction line) carries every part of the run record."""
    run = kept(name)
    path = tmp_path / "outbox.sqlite3"
    left_by_the_earlier_agent(path, run)
    with Outbox(path) as box:
        body = json.loads(box.complete(run["run_id"], run["finished_at"], **derived(run)))
    assert body.get("checks") or body.get("curves")
    run_body_validator.validate(body)


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda b: b.pop("finished_at"), "'finished_at' is a required property"),
        (lambda b: b["points"][0]["readings"][0].update(value="1.0"), "is not of type 'number'"),
        (lambda b: b["procedure"].pop("hash"), "'hash' is a required property"),
        (lambda b: b["standards"][0].update(role="uut"), "'uut' is not one of"),
        (lambda b: b.update(started_at="yesterday"), "'yesterday' is not a 'date-time'"),
    ],
)
def test_a_broken_payload_fails_the_schema(
    lims: Lims, outbox: Outbox, run_body_validator: OAS30Validator, breakage: Any, message: str
) -> None:
    run_id = record_run(outbox, lims.payload(points=1, readings=2))
    body = copy.deepcopy(json.loads(outbox.body(run_id) or b""))
    breakage(body)
    with pytest.raises(ValidationError, match=message):
        run_body_validator.validate(body)
